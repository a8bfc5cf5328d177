"""Does the deployed function answer exactly like the model run in-process?

The same benchmark requests (:class:`~millicent.harness.workload.PlannedRequest`) are answered
twice: by the service core in this process (:mod:`millicent.runtime.service`, with the same
store and pack the function uses) and by an HTTP endpoint (the local platform, or a real
deployment). Kim CNN answers agree when the labels are equal and the probabilities equal to
within ``tolerance``; SM CNN answers when the scores do; embeddings when their values do.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from millicent.config import Limits
from millicent.errors import ConfigError, DataError

Answer = dict[str, Any]


class PlannedRequest(Protocol):
    """One request of a plan: a path under the endpoint and its JSON body (the harness's
    :class:`~millicent.harness.workload.PlannedRequest` is one; the baselines do not need
    the harness to say so)."""

    @property
    def path(self) -> str: ...

    @property
    def body(self) -> bytes: ...


def answer_locally(model: Any, embeddings: Any, req: PlannedRequest,
                   limits: Limits | None = None) -> Answer:
    """The function's answer to one request body, computed in this process (the same
    request parser, service core and response builder as the handler)."""
    from millicent.runtime.handler import serve

    return serve(model, "local", embeddings, json.loads(req.body), limits or Limits())


def local_answers(model: Any, embeddings: Any,
                  requests: Sequence[PlannedRequest]) -> tuple[list[Answer], list[float]]:
    """In-process answers and the latency of each (ms), after one untimed warm-up call."""
    if not requests:
        return [], []
    answer_locally(model, embeddings, requests[0])
    answers, latencies = [], []
    for req in requests:
        t0 = time.perf_counter()
        answers.append(answer_locally(model, embeddings, req))
        latencies.append((time.perf_counter() - t0) * 1000.0)
    return answers, latencies


def remote_answers(endpoint: str, requests: Sequence[PlannedRequest],
                   timeout_s: float = 30.0) -> list[Answer]:
    """The endpoint's answers, one request at a time; any failed request is an error."""
    out = []
    for i, req in enumerate(requests):
        url = endpoint.rstrip("/") + req.path
        http = urllib.request.Request(url, data=req.body, method="POST",
                                      headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(http, timeout=timeout_s) as resp:
                out.append(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            raise DataError(f"request {i} to {url} failed: HTTP {exc.code} "
                            f"{exc.read()[:300].decode('utf-8', 'replace')}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ConfigError(f"request {i} to {url} failed: {exc}") from exc
    return out


@dataclass
class Parity:
    """How two sets of answers to the same requests compare."""

    n: int
    same_labels: int  #: Kim CNN: equal label_index (SM CNN: equal to n)
    max_abs_diff: float  #: over probabilities (Kim) or scores (SM)
    tolerance: float
    mismatches: list[int] = field(default_factory=list)  #: request indices that disagree

    @property
    def ok(self) -> bool:
        return self.n > 0 and not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mismatches"] = self.mismatches[:20]
        d["ok"] = self.ok
        return d


def compare_answers(local: Sequence[Answer], remote: Sequence[Answer],
                    tolerance: float = 1e-6) -> Parity:
    """Label by label, value by value; a missing field is a mismatch."""
    if len(local) != len(remote):
        raise DataError(f"{len(local)} local answers but {len(remote)} remote ones")
    same, worst, bad = 0, 0.0, []
    for i, (a, b) in enumerate(zip(local, remote, strict=True)):
        key = next((k for k in ("probabilities", "scores", "embedding") if k in a), "scores")
        va, vb = a.get(key), b.get(key)
        if not isinstance(vb, list) or not isinstance(va, list) or len(va) != len(vb):
            bad.append(i)
            continue
        diff = max((abs(float(x) - float(y)) for x, y in zip(va, vb, strict=True)), default=0.0)
        worst = max(worst, diff)
        label_ok = a.get("label_index") == b.get("label_index")
        same += label_ok
        if diff > tolerance or not label_ok:
            bad.append(i)
    return Parity(len(local), same, worst, tolerance, bad)
