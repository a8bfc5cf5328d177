"""Length-bucketed batches, and padded tensors of them.

Each epoch's batches are a pure function of (seed, epoch): the rows are shuffled, cut into
chunks of ``CHUNK_BATCHES`` batches, sorted by length within each chunk and cut into
batches; then the batches are shuffled. Rows of similar length share a batch, so little
is spent on padding (on two CPU cores that is most of the speed), while every epoch still
sees the data in a new order. Because nothing but (seed, epoch) decides the order, a
resumed run finds its place from the epoch and the batch number alone.
"""

from __future__ import annotations

import numpy as np
import torch

from millicent.train.hf.encode import Encoded

#: rows sorted together = this many batches (larger: less padding, less randomness)
CHUNK_BATCHES = 50


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int,
                  chunk_batches: int = CHUNK_BATCHES) -> list[np.ndarray]:
    """The row indices of each batch of ``epoch``, in training order."""
    rng = np.random.default_rng((seed, epoch))
    order = rng.permutation(len(lengths))
    chunk = batch_size * chunk_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Every row once, in batches of similar length (for scoring; order does not matter)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(enc: Encoded, ix: np.ndarray, pad: int, token_types: bool) -> dict[str, torch.Tensor]:
    """The model's inputs for rows ``ix``: right-padded ids, attention mask, token types."""
    width = max(len(enc.ids[i]) for i in ix)
    ids = np.full((len(ix), width), pad, dtype=np.int64)
    types = np.zeros((len(ix), width), dtype=np.int64)
    mask = np.zeros((len(ix), width), dtype=np.int64)
    for row, i in enumerate(ix):
        n = len(enc.ids[i])
        ids[row, :n] = enc.ids[i]
        types[row, :n] = enc.type_ids[i]
        mask[row, :n] = 1
    inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
    if token_types:
        inputs["token_type_ids"] = torch.from_numpy(types)
    return inputs
