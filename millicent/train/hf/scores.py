"""The fine-tuned model's outputs and metrics, in torch, with the project's metric functions
(:mod:`millicent.train.metrics`), so they compare with ``eval`` of the imported artifact.

Classification: accuracy, macro-F1, per-class precision / recall / F1 and the confusion
matrix of the argmax of the logits. Ranking: MAP and MRR of the relevance logit (ties
broken pessimistically, as everywhere in millicent); the served relevance is
sigmoid(logit), which orders answers the same way while float32 keeps them apart
(|logit| < 16).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from millicent.data.trecqa import QAPair
from millicent.errors import DataError
from millicent.train.hf.batches import collate, sorted_batches
from millicent.train.hf.encode import Encoded
from millicent.train.metrics import classification_metrics, map_mrr

SCORE_BATCH = 64


@dataclass(frozen=True)
class Inputs:
    """How to feed the model: the padding id and whether it takes token types."""

    pad: int
    token_types: bool


@torch.no_grad()
def logits(model: Any, enc: Encoded, inputs: Inputs) -> np.ndarray:
    """``(rows, outputs)`` float32 logits of every row, in row order (eval mode)."""
    was_training = model.training
    model.eval()
    out = np.zeros((len(enc), int(model.config.num_labels)), dtype=np.float32)
    for ix in sorted_batches(enc.lengths(), SCORE_BATCH):
        batch = collate(enc, ix, inputs.pad, inputs.token_types)
        out[ix] = model(**batch).logits.float().numpy()
    model.train(was_training)
    return out


def classify_metrics(model: Any, enc: Encoded, gold: Sequence[int],
                     labels: Sequence[str], inputs: Inputs) -> dict[str, Any]:
    """Accuracy, macro-F1, per class, confusion matrix, n."""
    return classification_metrics(logits(model, enc, inputs).argmax(axis=1), gold, labels)


def rank_metrics(model: Any, enc: Encoded, pairs: Sequence[QAPair],
                 inputs: Inputs) -> dict[str, Any]:
    """``map``, ``mrr``, ``n`` (pairs) and ``questions`` (those with a correct answer)."""
    scores = logits(model, enc, inputs)[:, 0]
    try:
        m = map_mrr([p.qid for p in pairs], scores, [p.label for p in pairs])
    except ValueError as exc:  # no question with a correct answer: MAP is undefined
        raise DataError(f"cannot rank {len(pairs)} pairs: {exc}") from exc
    return {"map": m["map"], "mrr": m["mrr"], "n": len(pairs), "questions": m["questions"]}
