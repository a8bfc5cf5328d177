"""The service core: text in, prediction out — no event parsing, no HTTP.

``classify`` and ``rank`` tokenize exactly as training did, fetch the vectors of the unique
words from the embeddings (pack → LRU → store; unknown words are zero rows), run the
numpy forward pass and report where the time went. The Lambda handler wraps these.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from millicent.config import Limits
from millicent.errors import ConfigError, InvalidInput
from millicent.runtime.model import Classifier, Ranker
from millicent.runtime.tokenize import tokenize
from millicent.types import Embeddings, Lookup


def _ms(t0: float, t1: float) -> float:
    return round((t1 - t0) * 1000.0, 4)


def _timings(t0: float, t1: float, t2: float, t3: float, lookup: Lookup) -> dict[str, Any]:
    """The service's share of ``timings``: tokenize / fetch / forward ms and the lookup stats."""
    return {
        "tokenize_ms": _ms(t0, t1),
        "fetch_ms": _ms(t1, t2),
        "forward_ms": _ms(t2, t3),
        "lookups": lookup.stats.to_dict(),
    }


def _tokens(text: Any, what: str, limits: Limits) -> list[str]:
    """Tokens of one text, or InvalidInput for a non-string, blank or over-long text."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string, got {type(text).__name__}")
    tokens = tokenize(text) if text.strip() else []
    if not tokens:
        raise InvalidInput(f"{what} is empty")
    if len(tokens) > limits.max_tokens:
        raise InvalidInput(
            f"{what} has {len(tokens)} tokens; the limit is {limits.max_tokens}",
            limit=limits.max_tokens,
        )
    return tokens


def _check_dim(model: Classifier | Ranker, embeddings: Embeddings) -> None:
    if embeddings.dim != model.dim:
        # a deployment mistake, not the caller's: 500, not 400
        raise ConfigError(
            f"the embeddings are {embeddings.dim}-d but the model needs {model.dim}-d vectors"
        )


def classify(model: Classifier, embeddings: Embeddings, text: str, limits: Limits) -> dict[str, Any]:
    """Classify one text: label, probabilities, tokens, unknown words and timings."""
    _check_dim(model, embeddings)
    t0 = time.perf_counter()
    tokens = _tokens(text, "text", limits)
    t1 = time.perf_counter()
    lookup = embeddings.lookup(tokens)
    t2 = time.perf_counter()
    probs = model.predict(lookup.matrix)
    t3 = time.perf_counter()
    best = int(np.argmax(probs))
    return {
        "label": model.labels[best],
        "label_index": best,
        "probabilities": [float(p) for p in probs],
        "tokens": tokens,
        "unknown_words": lookup.unknown,
        "timings": _timings(t0, t1, t2, t3, lookup),
    }


#: Most floats in one padded answer batch (answers × longest × dim). The convolution's
#: window matrix is ~5× that, so a chunk stays near 20 MB: a 128 MB function survives the
#: largest request the limits allow (1,000 answers × 1,000 tokens).
BATCH_FLOATS = 1_000_000


def _chunks(lengths: Sequence[int], dim: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` answer ranges whose padded batch fits :data:`BATCH_FLOATS`."""
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


def rank(
    model: Ranker,
    embeddings: Embeddings,
    question: str,
    answers: Sequence[str],
    limits: Limits,
) -> dict[str, Any]:
    """Score each answer to the question: P(relevant) per answer, in the given order.

    All words of the question and the answers are fetched in one lookup, so a request
    costs one round of store batches however many answers it has.
    """
    _check_dim(model, embeddings)
    if isinstance(answers, str) or not isinstance(answers, Sequence):
        raise InvalidInput("answers must be a list of strings")
    if not answers:
        raise InvalidInput("answers is empty: give at least one answer")
    if len(answers) > limits.max_answers:
        raise InvalidInput(
            f"{len(answers)} answers; the limit is {limits.max_answers}",
            limit=limits.max_answers,
        )
    t0 = time.perf_counter()
    q_tokens = _tokens(question, "question", limits)
    a_tokens = [_tokens(a, f"answers[{i}]", limits) for i, a in enumerate(answers)]
    t1 = time.perf_counter()
    # Look up each distinct token once and gather rows per text: a request may carry up to
    # max_answers × max_tokens tokens, far more than it has distinct words.
    distinct = list(dict.fromkeys([*q_tokens, *(t for ts in a_tokens for t in ts)]))
    lookup = embeddings.lookup(distinct)
    t2 = time.perf_counter()
    row = {tok: i for i, tok in enumerate(distinct)}
    table = lookup.matrix
    q_emb = table[[row[t] for t in q_tokens]]
    scores = np.empty(len(a_tokens), dtype=np.float32)
    for lo, hi in _chunks([len(ts) for ts in a_tokens], model.dim):
        a_embs = [table[[row[t] for t in ts]] for ts in a_tokens[lo:hi]]
        scores[lo:hi] = model.score_batch(q_emb, a_embs, q_tokens, a_tokens[lo:hi])
    t3 = time.perf_counter()
    return {
        "scores": [float(s) for s in scores],
        "question_tokens": q_tokens,
        "answer_tokens": a_tokens,
        "unknown_words": lookup.unknown,
        "timings": _timings(t0, t1, t2, t3, lookup),
    }
