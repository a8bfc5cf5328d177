"""``millicent plan``: a period of traffic on Lambda + DynamoDB, simulated from measured
service times — monthly cost by deployment option, cold starts, throttles and why,
latency percentiles, and the break-even rate against an always-on server (docs/plan.md).

Modules, each one concept: :mod:`.profile` (the service profile and its JSON schema),
:mod:`.bench_profile` (a profile from a bench run), :mod:`.store_keys` (each request's store
keys after the pack, recomputed offline), :mod:`.service_times` (projected to the target),
:mod:`.lambda_rules` + :mod:`.dynamodb_rules` (the rules as the planner applies them),
:mod:`.settings` (what a simulation needs), :mod:`.aggregate`
(per time step, vectorised) and :mod:`.exact` (per request), :mod:`.outcome` (what both
produce), :mod:`.latency` (weighted and mixture percentiles), :mod:`.store_load` (DynamoDB
reads and throttles), :mod:`.costs` (the bill of each option and the always-on server),
:mod:`.planner` (all of it), :mod:`.report` and :mod:`.plots`. The traffic shapes and
their units are :mod:`millicent.traffic` (the harness replays them too); the rules' values
and sources, and the prices, are :mod:`millicent.economics` (``rules.json``, ``prices.json``).
"""
