"""The requests a benchmark sends: an evaluation set turned into HTTP requests, chosen by the
model's role and a dataset (:class:`WorkloadSpec`), never by the model's name.

* ``classify`` / ``embed``: the texts of a set → ``POST {endpoint}/{route} {"sentence": ...}``
  — SST-1 dev (1,101, the paper's Kim CNN set) by default, SST-2 dev, or a file's texts;
* ``rank``: question–answer pairs → ``{"question", "answer"}`` — TrecQA raw-dev (1,148, the
  paper's SM CNN set) by default, or a pairs file.

A model is benchmarked on its own data: its task when that is a built-in set of its role,
else the files it was trained on (test, else dev, else train: :meth:`WorkloadSpec.of_artifact`).
``kim`` and ``sm`` name the paper's two workloads. With a batch size N > 1
(``bench --batch-size N``) the texts of N consecutive items go in one batch request instead:
``{"sentences": [...]}`` / ``{"items": [{"question", "answers": [answer]}, ...]}`` (the last
batch holds the rest); each request knows how many texts it carries, for throughput and cost
per text. With a function name the path is ``/{function-name}`` instead (the platform routes
both). Bodies are built by the request edge's builders (:mod:`millicent.runtime.requests`)
and encoded once here so the client spends no time on JSON while measuring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError, DataError
from millicent.runtime.requests import (
    TEXT_ROLES,
    items_body,
    pair_body,
    sentence_body,
    sentences_body,
)
from millicent.types import ROLES

ROUTES: dict[str, str] = {role: f"/{role}" for role in ROLES}
#: the built-in evaluation sets and the roles they serve
DATASETS: dict[str, tuple[str, ...]] = {"sst-1": TEXT_ROLES, "sst-2": TEXT_ROLES,
                                        "trecqa": ("rank",)}
#: a role's set when the model names none of its own
DEFAULT_DATASET = {"classify": "sst-1", "embed": "sst-1", "rank": "trecqa"}
#: the training files a model is benchmarked on, in order of preference
_FILE_PARTS = ("test", "dev", "train")


@dataclass(frozen=True)
class WorkloadSpec:
    """What a workload sends: requests of ``role`` made from ``dataset`` — a built-in set
    (``sst-1``, ``sst-2``, ``trecqa``) or a data file (``fmt``, ``text_column`` for texts;
    a pairs file's question and answer columns for ``rank``)."""

    role: str
    dataset: str
    fmt: str | None = None
    text_column: str = "text"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"unknown role {self.role!r}; use one of {list(ROLES)}")
        allowed = DATASETS.get(self.dataset)
        if allowed is not None and self.role not in allowed:
            raise ConfigError(f"{self.dataset} is a set for {' or '.join(allowed)}, not {self.role}")

    @property
    def builtin(self) -> bool:
        return self.dataset in DATASETS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkloadSpec:
        return cls(str(d["role"]), str(d["dataset"]), d.get("fmt"), str(d.get("text_column") or "text"))

    @classmethod
    def named(cls, name: str) -> WorkloadSpec:
        """``kim`` / ``sm`` (the paper's sets), ``ROLE`` (its default set) or
        ``ROLE:DATASET`` (a built-in set or a file)."""
        legacy = {"kim": cls("classify", "sst-1"), "sm": cls("rank", "trecqa")}
        if name in legacy:
            return legacy[name]
        role, _, dataset = name.partition(":")
        if role not in ROLES:
            raise ConfigError(f"unknown workload {name!r}; use kim, sm, a role "
                              f"({', '.join(ROLES)}) or ROLE:DATASET (e.g. classify:sst-2)")
        return cls(role, dataset or DEFAULT_DATASET[role])

    @classmethod
    def of_artifact(cls, path: str | Path) -> WorkloadSpec:
        """The set a model is benchmarked on: its task when that is a built-in set of its
        role, else the files it was trained on, else its role's default set."""
        from millicent.runtime.artifact import read_manifest

        m = read_manifest(path)
        if m.role in DATASETS.get(m.task, ()):
            return cls(m.role, m.task)
        dataset = m.training.get("dataset") or {}
        data = m.sections.get("data") or {}
        for part in _FILE_PARTS:
            info = dataset.get(part)
            if isinstance(info, dict) and info.get("file") and Path(str(info["file"])).is_file():
                return cls(m.role, str(Path(str(info["file"])).resolve()), info.get("format"),
                           str(data.get("text_column") or "text"))
        return cls(m.role, DEFAULT_DATASET[m.role])


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
    #: what the requests are made of (None: a user's own request bodies)
    spec: WorkloadSpec | None = None

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


def route(role: str, function: str | None = None) -> str:
    """``/classify`` | ``/rank`` | ``/embed`` (``kim`` / ``sm``: the paper's routes), or
    ``/{function}`` when a function name is given."""
    if function:
        if "/" in function.strip("/"):
            raise ConfigError(f"function name must not contain '/', got {function!r}")
        return "/" + function.strip("/")
    role = {"kim": "classify", "sm": "rank"}.get(role, role)
    try:
        return ROUTES[role]
    except KeyError:
        raise ConfigError(f"unknown role {role!r}; use one of {sorted(ROUTES)}") from None


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    if size < 1:
        raise ConfigError(f"--batch-size must be ≥ 1, got {size}")
    return [items[i:i + size] for i in range(0, len(items), size)]


def classify_requests(sentences: Iterable[str], function: str | None = None,
                      batch_size: int = 1, role: str = "classify") -> list[PlannedRequest]:
    """Requests of texts (a ``classify`` or ``embed`` model)."""
    path = route(role, function)
    if batch_size == 1:
        return [PlannedRequest.json(path, sentence_body(s)) for s in sentences]
    return [PlannedRequest.json(path, sentences_body(b), len(b))
            for b in _batches(list(sentences), batch_size)]


def rank_requests(pairs: Iterable[tuple[str, str]], function: str | None = None,
                  batch_size: int = 1) -> list[PlannedRequest]:
    """Requests of question–answer pairs (a ``rank`` model)."""
    path = route("rank", function)
    if batch_size == 1:
        return [PlannedRequest.json(path, pair_body(q, a)) for q, a in pairs]
    return [PlannedRequest.json(path, items_body([(q, [a]) for q, a in b]), len(b))
            for b in _batches(list(pairs), batch_size)]


def _limited(items: Sequence[Any], limit: int | None) -> Sequence[Any]:
    if limit is None:
        return items
    if limit < 1:
        raise ConfigError(f"--limit must be ≥ 1, got {limit}")
    return items[:limit]


def _items(spec: WorkloadSpec, data_dir: str | Path | None) -> tuple[str, list[Any]]:
    """The set's name and its items: texts, or (question, answer) pairs for ``rank``."""
    if spec.dataset in ("sst-1", "sst-2"):
        from millicent.data.sst import load_sst

        return f"{spec.dataset.upper()} dev", [e.text for e in load_sst(data_dir, spec.dataset, "dev")]
    if spec.dataset == "trecqa":
        from millicent.data.trecqa import load_trecqa

        return "TrecQA raw-dev", [(p.question, p.answer) for p in load_trecqa(data_dir, "raw-dev")]
    name = Path(spec.dataset).name
    if spec.role == "rank":
        from millicent.data.pairs import read_pairs

        return name, [(p.question, p.answer) for p in read_pairs(spec.dataset, spec.fmt).rows]
    from millicent.data.files import Problem, iter_texts

    texts = []
    for line, text in iter_texts(spec.dataset, spec.fmt, spec.text_column):
        if isinstance(text, Problem):
            raise DataError(f"{spec.dataset}:{line}: {text.message}", path=spec.dataset)
        texts.append(text)
    return name, texts


def load_workload(model: str, data_dir: str | Path | None, function: str | None = None,
                  limit: int | None = None, batch_size: int = 1,
                  spec: WorkloadSpec | None = None) -> Workload:
    """The evaluation set ``spec`` (default: the one ``model`` names, :meth:`WorkloadSpec.named`)
    for the model ``model``, as single requests or batches of ``batch_size``."""
    spec = spec or WorkloadSpec.named(model)
    source, items = _items(spec, data_dir)
    if not items:
        raise DataError(f"{source} is empty (under {data_dir})")
    chosen = list(_limited(items, limit))
    if spec.role == "rank":
        requests = rank_requests(chosen, function, batch_size)
    else:
        requests = classify_requests(chosen, function, batch_size, role=spec.role)
    return Workload(model, source, tuple(requests), len(items), batch_size, spec)
