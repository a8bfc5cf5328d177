"""The analysis of a measured run (``millicent cost``): above the harness, whose records it reads.

:mod:`.whatif` (a saved run re-priced under other options: components, memory projection,
break-even, cold starts, the worst case), :mod:`.decisions` (how to buy down cold starts and
what a flood can cost, for bench runs and REPORT logs alike) and :mod:`.bill` (REPORT lines
priced exactly).
"""
