"""``millicent plan``: a period of traffic on Lambda + DynamoDB, simulated from measured
service times — monthly cost by deployment option, cold starts, throttles and why,
latency percentiles, and the break-even rate against an always-on server.

Modules: :mod:`.traffic` (traffic shapes and traces), :mod:`.profile` (the service profile)
and :mod:`.bench_profile` (one from a bench run), :mod:`.service_times` (projected to the
target), :mod:`.rules` + :mod:`.lambda_rules` + :mod:`.dynamodb_rules` (the rules, as data
with sources), :mod:`.aggregate` (per time step, vectorised) and :mod:`.exact` (per
request), :mod:`.store_load` (DynamoDB reads and throttles), :mod:`.costs` (the bill of each
option and the always-on alternative), :mod:`.planner` (all of it), :mod:`.report` and
:mod:`.plots`.
"""
