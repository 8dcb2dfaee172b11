"""Judging another implementation: rounding budgets, verification and its report, numerical
differentiation. Imports the core loops and the number systems below it.
"""
