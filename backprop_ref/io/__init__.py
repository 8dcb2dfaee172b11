"""Reading and writing: case files (JSON) and the adapters for arrays and frameworks. Imports the
oracle, the core and the number systems below it; frameworks themselves only on call.
"""
