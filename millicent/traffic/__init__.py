"""Traffic over time: what ``millicent plan`` simulates and ``millicent bench --trace`` replays.

:mod:`.shapes` (constant, diurnal, bursty shapes, recorded traces and the one definition of
their arrival times) and :mod:`.units` (durations and rates as people write them). Below
both the planner and the harness, so neither imports the other for it.
"""
