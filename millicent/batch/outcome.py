"""What one answer to a batch request means for the runner (pure; no I/O).

==============================  ===============================================================
answer                          outcome
==============================  ===============================================================
2xx with one result per text    :class:`Answered`
400 / 413 naming an item        :class:`Refused`: that text gets an error line, the rest is
(``index`` detail, or a         sent again
``sentences[i]`` field)
413 naming no item              :class:`Split`: the batch is too large as a whole (more texts
                                than ``MILLICENT_MAX_BATCH``, the body or Lambda's 6 MB answer);
                                one text alone: :class:`Refused`
429, 5xx, no answer             :class:`Retry` (after a backoff; 502 / 504 — the function
                                crashed or timed out — are marked, since a text could cause them)
any other 4xx                   :class:`Fatal`: wrong URL, key or function — stop the job
==============================  ===============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from millicent.batch.lines import refused_message
from millicent.harness.records import error_text
from millicent.runtime.requests import BATCH_TEXTS

_FIELD = re.compile(rf"^{BATCH_TEXTS}\[(\d+)\]")
FUNCTION_FAILED = (502, 504)


@dataclass(frozen=True)
class Answered:
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class Refused:
    index: int
    code: str
    message: str
    status: int


@dataclass(frozen=True)
class Split:
    #: the most texts the function takes in one batch, when it said so
    limit: int | None
    reason: str


@dataclass(frozen=True)
class Retry:
    reason: str
    status: int
    retry_after_s: float | None = None

    @property
    def function_failed(self) -> bool:
        return self.status in FUNCTION_FAILED


@dataclass(frozen=True)
class Fatal:
    reason: str
    status: int


Outcome = Answered | Refused | Split | Retry | Fatal


def classify(status: int, body: Any, n: int, text: str = "",
             retry_after_s: float | None = None) -> Outcome:
    """The outcome of an answer with ``status`` (0: none came; ``text`` says why) and the
    decoded JSON ``body`` (None if not JSON) to a batch of ``n`` texts."""
    if status == 0:
        return Retry(text or "no answer", 0, retry_after_s)
    if 200 <= status < 300:
        return _answered(status, body, n, text)
    if status == 429 or status >= 500:
        return Retry(error_text(status, body, text), status, retry_after_s)
    if status in (400, 413):
        index = item_index(body, n)
        if index is None and status == 413:
            if n > 1:
                return Split(_limit(body), error_text(status, body, text))
            index = 0
        if index is not None:
            code = str(body.get("error", f"http_{status}")) if isinstance(body, dict) else f"http_{status}"
            message = body.get("message", text) if isinstance(body, dict) else text
            return Refused(index, code, refused_message(str(message)), status)
    return Fatal(error_text(status, body, text), status)


def item_index(body: Any, n: int) -> int | None:
    """The batch item an error names: its ``index`` detail, else a ``sentences[i]`` field."""
    if not isinstance(body, dict):
        return None
    index = body.get("index")
    if not (isinstance(index, int) and not isinstance(index, bool)):
        m = _FIELD.match(str(body.get("field", "")))
        index = int(m.group(1)) if m else None
    return index if index is not None and 0 <= index < n else None


def _limit(body: Any) -> int | None:
    if isinstance(body, dict) and body.get("field") == BATCH_TEXTS:
        limit = body.get("limit")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
            return limit
    return None


def _answered(status: int, body: Any, n: int, text: str) -> Outcome:
    results = body.get("results") if isinstance(body, dict) else None
    if (not isinstance(results, list) or len(results) != n
            or not all(isinstance(r, dict) for r in results)):
        got = (f"{len(results)} results" if isinstance(results, list)
               else "no \"results\" list" if isinstance(body, dict) else "not a JSON object")
        return Fatal(f"{status} answer to a batch of {n} texts has {got}: is the endpoint a "
                     f"millicent classification function? {text[:120]}", status)
    return Answered(results)
