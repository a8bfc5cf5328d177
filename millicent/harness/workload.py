"""The requests a benchmark sends: the paper's evaluation sets turned into HTTP requests.

* Kim CNN: the SST-1 dev sentences (1,101) → ``POST {endpoint}/classify {"sentence": ...}``
* SM CNN: the TrecQA raw-dev pairs (1,148) → ``POST {endpoint}/rank {"question", "answer"}``

With a batch size N > 1 (``bench --batch-size N``) the texts of N consecutive items go in
one batch request instead: ``{"sentences": [...]}`` / ``{"items": [{"question", "answers":
[answer]}, ...]}`` (the last batch holds the rest); each request knows how many texts it
carries, for throughput and cost per text. With a function name the path is ``/{function-name}`` instead (the platform routes both).
Bodies are encoded once here so the client spends no time on JSON while measuring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError, DataError

ROUTES = {"kim": "/classify", "sm": "/rank"}


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request of the plan: a path under the endpoint and its JSON body."""

    path: str
    body: bytes
    texts: int = 1  #: texts (sentences, question-answer pairs) the request carries

    @classmethod
    def json(cls, path: str, payload: dict[str, Any], texts: int = 1) -> PlannedRequest:
        return cls(path, json.dumps(payload, ensure_ascii=False).encode("utf-8"), texts)


@dataclass(frozen=True)
class Workload:
    """The evaluation set of one model as requests, in the set's own order."""

    model: str
    source: str  #: e.g. "SST-1 dev (stsa.fine.dev)"
    requests: tuple[PlannedRequest, ...]
    full_size: int  #: size of the whole set (``len(requests)`` is smaller under ``limit``)
    batch_size: int = 1  #: texts per request (the last request of a batched set may hold fewer)

    @property
    def texts(self) -> int:
        """Texts (items of the set) the requests carry."""
        return sum(r.texts for r in self.requests)

    @property
    def subset(self) -> bool:
        return self.texts < self.full_size

    def order(self, count: int, start: int = 0) -> list[int]:
        """Indices of ``count`` requests cycling over the set from position ``start``."""
        n = len(self.requests)
        return [(start + i) % n for i in range(count)]


def route(model: str, function: str | None = None) -> str:
    """``/classify`` | ``/rank``, or ``/{function}`` when a function name is given."""
    if function:
        if "/" in function.strip("/"):
            raise ConfigError(f"function name must not contain '/', got {function!r}")
        return "/" + function.strip("/")
    try:
        return ROUTES[model]
    except KeyError:
        raise ConfigError(f"unknown model {model!r}; use one of {sorted(ROUTES)}") from None


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    if size < 1:
        raise ConfigError(f"--batch-size must be ≥ 1, got {size}")
    return [items[i:i + size] for i in range(0, len(items), size)]


def classify_requests(sentences: Iterable[str], function: str | None = None,
                      batch_size: int = 1) -> list[PlannedRequest]:
    path = route("kim", function)
    if batch_size == 1:
        return [PlannedRequest.json(path, {"sentence": s}) for s in sentences]
    return [PlannedRequest.json(path, {"sentences": list(b)}, len(b))
            for b in _batches(list(sentences), batch_size)]


def rank_requests(pairs: Iterable[tuple[str, str]], function: str | None = None,
                  batch_size: int = 1) -> list[PlannedRequest]:
    path = route("sm", function)
    if batch_size == 1:
        return [PlannedRequest.json(path, {"question": q, "answer": a}) for q, a in pairs]
    return [PlannedRequest.json(path, {"items": [{"question": q, "answers": [a]} for q, a in b]},
                                len(b))
            for b in _batches(list(pairs), batch_size)]


def _limited(items: Sequence[Any], limit: int | None) -> Sequence[Any]:
    if limit is None:
        return items
    if limit < 1:
        raise ConfigError(f"--limit must be ≥ 1, got {limit}")
    return items[:limit]


def load_workload(model: str, data_dir: str | Path, function: str | None = None,
                  limit: int | None = None, batch_size: int = 1) -> Workload:
    """The paper's evaluation set for ``model`` from the local data directory, as single
    requests or batches of ``batch_size``."""
    if model == "kim":
        from millicent.data.sst import load_sst

        examples = load_sst(data_dir, task="sst-1", split="dev")
        if not examples:
            raise DataError(f"SST-1 dev is empty under {data_dir}")
        chosen = _limited(examples, limit)
        return Workload("kim", "SST-1 dev",
                        tuple(classify_requests((e.text for e in chosen), function, batch_size)),
                        len(examples), batch_size)
    if model == "sm":
        from millicent.data.trecqa import load_trecqa

        pairs = load_trecqa(data_dir, "raw-dev")
        if not pairs:
            raise DataError(f"TrecQA raw-dev is empty under {data_dir}")
        chosen = _limited(pairs, limit)
        pairs_chosen = ((p.question, p.answer) for p in chosen)
        return Workload("sm", "TrecQA raw-dev",
                        tuple(rank_requests(pairs_chosen, function, batch_size)),
                        len(pairs), batch_size)
    raise ConfigError(f"unknown model {model!r}; use kim or sm")
