"""The service core: typed request in, typed answer out — no event parsing, no HTTP.

``classify``, ``rank`` and ``embed`` encode texts with the model's own tokenizer (tokens
and their store keys, :mod:`.encoding`), look up the distinct keys of the whole request
once (pack → LRU → store; unknown words are zero rows), run the forward passes in bounded
batches — each model gets its texts' rows and their encodings — and report where the time
went. A batch of N texts costs one store round and a few forward passes, not N requests.
The request was checked at the edge (:mod:`.requests`); only the token limits are checked
here (:mod:`.encoding`), since only the model's tokenizer can count tokens. A model that
answers NaN or infinity is refused (500) rather than answered: JSON has no such numbers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from millicent.config import Limits
from millicent.errors import ArtifactError, ConfigError
from millicent.runtime.encoding import RankEncoding, distinct_keys, encode_items, encode_texts
from millicent.runtime.requests import RankRequest, TextsRequest
from millicent.runtime.roles import Classifier, Embedder, Pairs, Ranker, ServedModel
from millicent.tokenizers.base import Encoding
from millicent.types import Embeddings, Lookup

#: Most floats in one padded batch (texts × longest × dim). The convolution's window
#: matrix is ~5× that, so a chunk stays near 20 MB: a 128 MB function survives the largest
#: request the limits allow (1,000 answers × 1,000 tokens, or a batch of 256 long texts).
BATCH_FLOATS = 1_000_000


@dataclass
class Classification:
    """One text's answer."""

    label: str
    label_index: int
    probabilities: list[float]
    tokens: list[str]
    unknown_words: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "label_index": self.label_index,
                "probabilities": self.probabilities, "tokens": self.tokens,
                "unknown_words": self.unknown_words}


@dataclass
class Ranking:
    """One question's answer: P(relevant) per candidate, in the given order."""

    scores: list[float]
    question_tokens: list[str]
    answer_tokens: list[list[str]]
    unknown_words: list[str]
    #: asked with one ``answer`` (not a list): the answer also carries ``score``
    single: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scores": self.scores, "question_tokens": self.question_tokens,
                               "answer_tokens": self.answer_tokens,
                               "unknown_words": self.unknown_words}
        if self.single:
            out["score"] = self.scores[0]
        return out


@dataclass
class Embedding:
    """One text's vector."""

    embedding: list[float]
    tokens: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"embedding": self.embedding, "tokens": self.tokens}


@dataclass
class Answer:
    """The results of a request, in request order, and the service's share of ``timings``."""

    results: list[Classification] | list[Ranking] | list[Embedding]
    timings: dict[str, Any]


def _ms(t0: float, t1: float) -> float:
    return round((t1 - t0) * 1000.0, 4)


def _timings(t: Sequence[float], lookup: Lookup, batch: int | None) -> dict[str, Any]:
    """tokenize / fetch / forward ms between the four instants ``t``, and the lookup stats."""
    out: dict[str, Any] = {"tokenize_ms": _ms(t[0], t[1]), "fetch_ms": _ms(t[1], t[2]),
                           "forward_ms": _ms(t[2], t[3]), "lookups": lookup.stats.to_dict()}
    if batch is not None:
        out["batch"] = batch
    return out


def _check_dim(model: ServedModel, embeddings: Embeddings) -> None:
    if embeddings.dim != model.dim:
        # a deployment mistake, not the caller's: 500, not 400
        raise ConfigError(
            f"the embeddings are {embeddings.dim}-d but the model needs {model.dim}-d vectors"
        )


def _finite(values: np.ndarray, model: ServedModel) -> np.ndarray:
    """``values``, unless the model answered NaN or infinity (JSON has no such numbers)."""
    if not np.isfinite(values).all():
        raise ArtifactError(f"{model.artifact.path}: the {model.kind} model answered NaN or "
                            "infinity", problem="nonfinite")
    return values


class _Table:
    """The vectors of a request's distinct store keys, looked up once, gathered per text."""

    def __init__(self, embeddings: Embeddings, encodings: Sequence[Encoding]) -> None:
        # a request may carry up to max_answers × max_tokens tokens (or a batch of long
        # texts), far more than it has distinct keys: each is looked up once
        distinct = distinct_keys(encodings)
        self.lookup = embeddings.lookup(distinct)
        self.row = {key: i for i, key in enumerate(distinct)}

    def rows(self, enc: Encoding) -> np.ndarray:
        return self.lookup.matrix[[self.row[k] for k in enc.keys]]

    def unknown(self, *encodings: Encoding) -> list[str]:
        """Distinct tokens of ``encodings`` without a vector, in first-seen order."""
        found, row = self.lookup.found, self.row
        return list(dict.fromkeys(t for enc in encodings
                                  for t, k in zip(enc.tokens, enc.keys, strict=True)
                                  if not found[row[k]]))


def _chunks(lengths: Sequence[int], dim: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` ranges whose padded batch fits :data:`BATCH_FLOATS`."""
    out: list[tuple[int, int]] = []
    lo, longest = 0, 0
    for i, n in enumerate(lengths):
        longest_with = max(longest, n)
        if i > lo and (i - lo + 1) * longest_with * dim > BATCH_FLOATS:
            out.append((lo, i))
            lo, longest_with = i, n
        longest = longest_with
    if lengths:
        out.append((lo, len(lengths)))
    return out


def _forward(model: Classifier | Embedder, table: _Table, encs: list[Encoding],
             width: int) -> np.ndarray:
    """The model's output (B, width) for texts, in bounded batches of rows and encodings."""
    out = np.empty((len(encs), width), dtype=np.float32)
    run = model.predict_batch if isinstance(model, Classifier) else model.embed_batch
    for lo, hi in _chunks([len(e) for e in encs], model.dim):
        out[lo:hi] = run([table.rows(e) for e in encs[lo:hi]], encs[lo:hi])
    return _finite(out, model)


@dataclass
class _Served:
    """A texts request served: its encodings, their looked-up rows, the model's outputs
    (one row per text) and the timings."""

    encodings: list[Encoding]
    table: _Table
    outputs: np.ndarray
    timings: dict[str, Any]


def _serve_texts(model: Classifier | Embedder, embeddings: Embeddings, request: TextsRequest,
                 limits: Limits, width: int) -> _Served:
    """Encode, look up once, run the forward passes: what classify and embed share."""
    _check_dim(model, embeddings)
    t0 = time.perf_counter()
    encs = encode_texts(model.tokenizer, request, limits)
    t1 = time.perf_counter()
    table = _Table(embeddings, encs)
    t2 = time.perf_counter()
    out = _forward(model, table, encs, width)
    t3 = time.perf_counter()
    batch = len(encs) if request.batch else None
    return _Served(encs, table, out, _timings((t0, t1, t2, t3), table.lookup, batch))


def classify(model: Classifier, embeddings: Embeddings, request: TextsRequest,
             limits: Limits) -> Answer:
    """Label, probabilities, tokens and unknown words of every text, and timings."""
    served = _serve_texts(model, embeddings, request, limits, len(model.labels))
    results = []
    for enc, p in zip(served.encodings, served.outputs, strict=True):
        best = int(np.argmax(p))
        results.append(Classification(model.labels[best], best, [float(x) for x in p],
                                      list(enc.tokens), served.table.unknown(enc)))
    return Answer(results, served.timings)


def embed(model: Embedder, embeddings: Embeddings, request: TextsRequest,
          limits: Limits) -> Answer:
    """The vector and the tokens of every text, and timings."""
    served = _serve_texts(model, embeddings, request, limits, model.out_dim)
    results = [Embedding([float(x) for x in v], list(enc.tokens))
               for enc, v in zip(served.encodings, served.outputs, strict=True)]
    return Answer(results, served.timings)


def rank(model: Ranker, embeddings: Embeddings, request: RankRequest, limits: Limits) -> Answer:
    """P(relevant) of each answer to its question, in the given order, and timings.

    All words of all questions and answers are fetched in one lookup, so a request costs
    one round of store batches however many answers (and questions) it has.
    """
    _check_dim(model, embeddings)
    t0 = time.perf_counter()
    items = encode_items(model.tokenizer, request, limits)
    t1 = time.perf_counter()
    table = _Table(embeddings, [e for item in items for e in item.encodings])
    t2 = time.perf_counter()
    scores = [_score(model, table, item) for item in items]
    t3 = time.perf_counter()
    results = [Ranking([float(s) for s in sc], item.question_tokens, item.answer_tokens,
                       table.unknown(*item.encodings), asked.single)
               for item, sc, asked in zip(items, scores, request.items, strict=True)]
    batch = len(items) if request.batch else None
    return Answer(results, _timings((t0, t1, t2, t3), table.lookup, batch))


def _score(model: Ranker, table: _Table, item: RankEncoding) -> np.ndarray:
    """P(relevant) of each answer of one item, in bounded batches of answers."""
    if item.joint is not None:  # a cross-encoder: each pair one sequence
        joint = item.joint
        scores = np.empty(len(joint), dtype=np.float32)
        for lo, hi in _chunks([len(e) for e in joint], model.dim):
            pairs = Pairs.joint([table.rows(e) for e in joint[lo:hi]], joint[lo:hi], model.dim)
            scores[lo:hi] = model.relevance(pairs)
        return _finite(scores, model)
    assert item.question is not None  # encode_items gives word tokenizers' items apart
    q, answers = item.question, item.answers
    q_emb = table.rows(q)
    scores = np.empty(len(answers), dtype=np.float32)
    for lo, hi in _chunks([len(a) for a in answers], model.dim):
        part = answers[lo:hi]
        pairs = Pairs(q_emb, [table.rows(a) for a in part], q.tokens, [a.tokens for a in part],
                      q_encoding=q, a_encodings=part)
        scores[lo:hi] = model.relevance(pairs)
    return _finite(scores, model)
