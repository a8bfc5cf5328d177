"""The service core: typed request in, typed answer out — no event parsing, no HTTP.

``classify`` and ``rank`` encode texts with the model's own tokenizer (tokens and their
store keys), look up the distinct keys of the whole request once (pack → LRU → store;
unknown words are zero rows), run the forward passes in bounded batches and report where
the time went. A batch of N texts
costs one store round and a few forward passes, not N requests. The request was checked
at the edge (:mod:`.requests`); only the token limits are checked here, since only the
model's tokenizer can count tokens.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from millicent.config import Limits
from millicent.errors import ConfigError, InvalidInput
from millicent.runtime.requests import ClassifyRequest, RankRequest
from millicent.runtime.roles import Classifier, Ranker
from millicent.runtime.tokenizers.base import Encoding
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
class Answer:
    """The results of a request, in request order, and the service's share of ``timings``."""

    results: list[Classification] | list[Ranking]
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


def _encode(model: Classifier | Ranker, text: str, what: str, limits: Limits,
            index: int | None) -> Encoding:
    """The encoding of one (checked) text, or InvalidInput when no token or too many
    remain; ``index``: the batch item it belongs to (None for a single request)."""
    enc = model.encode(text)
    where: dict[str, Any] = {"field": what} if index is None else {"field": what, "index": index}
    if not enc.tokens:
        raise InvalidInput(f"{what} is empty", **where)
    n = len(enc.tokens) + enc.truncated  # the text's own length, before any truncation
    if n > limits.max_tokens:
        raise InvalidInput(f"{what} has {n} tokens; the limit is {limits.max_tokens}",
                           limit=limits.max_tokens, **where)
    return enc


def _check_dim(model: Classifier | Ranker, embeddings: Embeddings) -> None:
    if embeddings.dim != model.dim:
        # a deployment mistake, not the caller's: 500, not 400
        raise ConfigError(
            f"the embeddings are {embeddings.dim}-d but the model needs {model.dim}-d vectors"
        )


class _Table:
    """The vectors of a request's distinct store keys, looked up once, gathered per text."""

    def __init__(self, embeddings: Embeddings, encodings: Sequence[Encoding]) -> None:
        # a request may carry up to max_answers × max_tokens tokens (or a batch of long
        # texts), far more than it has distinct keys: each is looked up once
        distinct = list(dict.fromkeys(k for enc in encodings for k in enc.keys))
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


def classify(model: Classifier, embeddings: Embeddings, request: ClassifyRequest,
             limits: Limits) -> Answer:
    """Label, probabilities, tokens and unknown words of every text, and timings."""
    _check_dim(model, embeddings)
    t0 = time.perf_counter()
    encs = [_encode(model, text, request.field(i), limits, i if request.batch else None)
            for i, text in enumerate(request.texts)]
    t1 = time.perf_counter()
    table = _Table(embeddings, encs)
    t2 = time.perf_counter()
    probs = np.empty((len(encs), len(model.labels)), dtype=np.float32)
    for lo, hi in _chunks([len(e) for e in encs], model.dim):
        probs[lo:hi] = model.predict_batch([table.rows(e) for e in encs[lo:hi]])
    t3 = time.perf_counter()
    results = []
    for enc, p in zip(encs, probs, strict=True):
        best = int(np.argmax(p))
        results.append(Classification(model.labels[best], best, [float(x) for x in p],
                                      list(enc.tokens), table.unknown(enc)))
    batch = len(encs) if request.batch else None
    return Answer(results, _timings((t0, t1, t2, t3), table.lookup, batch))


def rank(model: Ranker, embeddings: Embeddings, request: RankRequest, limits: Limits) -> Answer:
    """P(relevant) of each answer to its question, in the given order, and timings.

    All words of all questions and answers are fetched in one lookup, so a request costs
    one round of store batches however many answers (and questions) it has.
    """
    _check_dim(model, embeddings)
    t0 = time.perf_counter()
    parsed = [_item_encodings(model, request, i, limits) for i in range(len(request.items))]
    t1 = time.perf_counter()
    table = _Table(embeddings, [e for q, answers in parsed for e in (q, *answers)])
    t2 = time.perf_counter()
    scores = [_score(model, table, q, answers) for q, answers in parsed]
    t3 = time.perf_counter()
    results = [Ranking([float(s) for s in sc], list(q.tokens), [list(a.tokens) for a in answers],
                       table.unknown(q, *answers), item.single)
               for (q, answers), sc, item in zip(parsed, scores, request.items, strict=True)]
    batch = len(parsed) if request.batch else None
    return Answer(results, _timings((t0, t1, t2, t3), table.lookup, batch))


def _item_encodings(model: Ranker, request: RankRequest, i: int,
                    limits: Limits) -> tuple[Encoding, list[Encoding]]:
    """The question's and the answers' encodings of item ``i``."""
    item, index = request.items[i], i if request.batch else None
    question = _encode(model, item.question, request.field(i, "question"), limits, index)
    answers = [_encode(model, a, request.field(i, f"answers[{j}]"), limits, index)
               for j, a in enumerate(item.answers)]
    return question, answers


def _score(model: Ranker, table: _Table, q: Encoding, answers: list[Encoding]) -> np.ndarray:
    q_emb = table.rows(q)
    scores = np.empty(len(answers), dtype=np.float32)
    for lo, hi in _chunks([len(a) for a in answers], model.dim):
        a_embs = [table.rows(a) for a in answers[lo:hi]]
        scores[lo:hi] = model.score_batch(q_emb, a_embs, q.tokens,
                                          [a.tokens for a in answers[lo:hi]])
    return scores
