"""Teaching: worked formulas with numbers (:mod:`.explain`), pictures (:mod:`.plot`, matplotlib on
call) and the demo. Imports any layer below it, never the command line.
"""
