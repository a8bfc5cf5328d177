"""The benchmark harness (``millicent bench --endpoint``): send requests, record them, sum up.

plan (:mod:`.scenario`, :mod:`.workload`, :mod:`.requests_file`) → run (:mod:`.closed_loop`,
closed loop, warm-up discarded; :mod:`.replay`, a trace open loop) → raw per-request
records (:mod:`.records`) → result rows (:mod:`.summary`, :mod:`.pertext`, priced by
:mod:`millicent.economics`) → report, results and plots (:mod:`.report`, :mod:`.plots`),
all of it for one run directory by :mod:`.runner`.

It imports the economics and the traffic shapes below it, never the planner, deploy, the
analysis of a saved run or the comparison testbed above it. Nothing here is imported by
the function package; aiohttp and matplotlib are imported only by the modules that need
them, when they run.
"""
