"""The local Lambda-faithful serverless platform (dev-time tooling, never shipped).

* :mod:`.pool` — Lambda's scaling model as pure logic (warm reuse, cold starts up to the
  concurrency limit, throttling, idle reaping) over an injected clock.
* :mod:`.sandbox` — one execution environment (Lambda calls it a sandbox): a separate process running the unmodified
  AWS Lambda Runtime Interface Client, fed through its own Lambda Runtime API queue.
* :mod:`.runtime_api` — the Lambda Runtime API (``/2018-06-01/runtime/...``), one loopback
  port per environment.
* :mod:`.platform` — :class:`~millicent.platform.platform.Platform`: invoke a function,
  write one REPORT-like record per invocation.
* :mod:`.gateway` — the HTTP front door: API Gateway v2 events (:mod:`.apigw`), the
  Lambda Invoke API, ``/_millicent/stats``.
* :mod:`.records`, :mod:`.report`, :mod:`.procstat` — REPORT records (duration, billed
  duration, init, CPU time, peak memory) and their JSON-lines log.
* :mod:`.memory` — the memory size enforced as Lambda does (``Runtime.OutOfMemory``).
* :mod:`.functions` — function specs and platform settings.
* :mod:`.server` — start/stop everything (used by ``millicent serve``).
"""
