"""What the function would answer: the runtime's own model fed rows of the token table.

The importer checks the staged artifact through the classes the function serves with
(:mod:`millicent.runtime.transformer`): texts are encoded by the artifact's ``hf``
tokenizer, each token's row is taken from the table (a key names the row of its id), and
the role's model answers — embeddings, class probabilities, or a ranking score per pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from millicent.data.trecqa import QAPair
from millicent.runtime.roles import Pairs
from millicent.runtime.transformer import (
    TransformerClassifier,
    TransformerEmbedder,
    TransformerRanker,
)
from millicent.tokenizers.base import Encoding, Tokenizer

Served = TransformerEmbedder | TransformerClassifier | TransformerRanker
#: one text's rows of the token table, in token order
Rows = Callable[[Encoding], np.ndarray]


def rows_by_id(table: np.ndarray) -> Rows:
    """Rows of an id-indexed table (the table as read: row i is token id i)."""
    return lambda enc: table[np.asarray(enc.ids, dtype=np.int64)]


def rows_by_key(keys: Sequence[str], matrix: np.ndarray) -> Rows:
    """Rows looked up by the encoding's keys, as a store serves them."""
    row = {k: i for i, k in enumerate(keys)}
    return lambda enc: matrix[[row[k] for k in enc.keys]]


def encode(tokenizer: Tokenizer, texts: Sequence[str] = (),
           pairs: Sequence[QAPair] = ()) -> list[Encoding]:
    """The encodings of texts, or of question–answer pairs as one sequence each."""
    if pairs:
        return [tokenizer.encode_pair(p.question, p.answer) for p in pairs]
    return [tokenizer.encode(t) for t in texts]


def fixed_batches(n: int, size: int) -> list[list[int]]:
    """Indices ``0..n-1`` in batches of ``size``, in order (as requests would come)."""
    return [list(range(s, min(n, s + size))) for s in range(0, n, size)]


def question_batches(pairs: Sequence[QAPair]) -> list[list[int]]:
    """One batch per question: a rank request holds one question and its answers."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p.qid, []).append(i)
    return list(groups.values())


def outputs(model: Served, rows: Rows, encodings: Sequence[Encoding],
            batches: Sequence[Sequence[int]], ranking: bool = False) -> np.ndarray:
    """The model's answers for every encoding, run batch by batch: (N, hidden) embeddings,
    (N, labels) probabilities, or (N,) P(relevant) — the ranking score with ``ranking``."""
    first = _run(model, rows, [encodings[i] for i in batches[0]], ranking)
    out = np.empty((len(encodings), *first.shape[1:]), dtype=np.float64)
    out[batches[0]] = first
    for batch in batches[1:]:
        out[batch] = _run(model, rows, [encodings[i] for i in batch], ranking)
    return out


def _run(model: Served, rows: Rows, encs: Sequence[Encoding], ranking: bool) -> np.ndarray:
    """One batch through the role's own entry point, as the service calls it."""
    embs = [rows(e) for e in encs]
    if isinstance(model, TransformerEmbedder):
        return model.embed_batch(embs, encs)
    if isinstance(model, TransformerClassifier):
        return model.predict_batch(embs, encs)
    pairs = Pairs.joint(embs, encs, model.dim)
    return model.ranking(pairs) if ranking else model.relevance(pairs)
