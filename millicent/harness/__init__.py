"""The benchmark harness and the cost model (tooling layer).

plan (:mod:`~millicent.bench.scenario`, :mod:`~millicent.bench.workload`) → run
(:mod:`~millicent.bench.harness`, closed loop, warm-up discarded) → raw per-request records
(:mod:`~millicent.bench.records`) → pure statistics and cost functions
(:mod:`~millicent.bench.stats`, :mod:`~millicent.bench.summary`, :mod:`~millicent.bench.cost`,
:mod:`~millicent.bench.tuning`) → report, results and plots.

Nothing here is imported by the function package; aiohttp and matplotlib are imported only
by the modules that need them, when they run.
"""
