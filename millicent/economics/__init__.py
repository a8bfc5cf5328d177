"""What serverless costs (tooling, the lowest of it): AWS as data and the cost model.

:mod:`.prices` (the dated price sheet, ``prices.json``, and AWS's 730-hour month),
:mod:`.rules` (Lambda's and DynamoDB's service rules and limits with their sources,
``rules.json``: the planner's rules and the worst case's limits are this one file),
:mod:`.cost` (what one query costs, by component), :mod:`.tuning` (memory projection,
break-even), :mod:`.coldstart` (on-demand, SnapStart or provisioned concurrency by the
month), :mod:`.worstcase` (denial of wallet, a cap that bounds it), :mod:`.reportlog`
(CloudWatch REPORT lines) and :mod:`.stats` (latency statistics).

Pure functions of measured figures and data files: nothing here imports the benchmark
harness, the planner, deploy or any other tooling package.
"""
