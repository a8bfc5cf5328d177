"""Wide 1-d convolution + max over time in numpy, for one text or a padded batch.

im2col as a strided view: a (T, dim) C-contiguous matrix flattened is one long row, and
k consecutive words are k·dim consecutive floats, so the windows of k words, one every
dim floats, form the (L, k·dim) window matrix — a view over the padded batch's own buffer
(what ``sliding_window_view`` of the flat row, taken every dim floats, returns, without its
≈ 10 µs of argument checks per call). Then one matmul per filter width. Torch weights
(maps, dim, k) are rearranged once to (k·dim, maps) to match that window layout.

Wide convolution: k−1 zero rows on each side, L = n + k − 1 outputs. In a padded batch a
text of n words has L valid positions; the rest (windows over batch padding only) are set
to −inf before the max, so a batch gives the same numbers as one text at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class WideConv:
    """One filter width: weights rearranged for im2col, plus the bias."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        maps, dim, k = weight.shape  # torch Conv1d layout
        self.k = k
        self.dim = dim
        self.maps = maps
        # (maps, dim, k) → (k, dim, maps) → (k·dim, maps): row j·dim + d is word j, feature d
        self.matrix = np.ascontiguousarray(
            weight.transpose(2, 1, 0).reshape(k * dim, maps), dtype=np.float32
        )
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)

    def max_pool(self, padded: np.ndarray, lengths: np.ndarray, margin: int) -> np.ndarray:
        """Max over time (B, maps) of the convolution of the texts in ``padded``.

        ``padded`` (B, margin + T + margin, dim) holds each text at rows margin … margin+n−1
        with zeros elsewhere (margin ≥ k−1); ``lengths`` (B,) are the texts' word counts.
        """
        b, all_rows, dim = padded.shape
        k = self.k
        cut = margin - (k - 1)  # this width needs only k−1 zero rows on each side
        rows = all_rows - 2 * cut
        steps = rows - k + 1  # T + k − 1 output positions
        if not padded.flags.c_contiguous or padded.dtype != np.float32:
            raise ValueError("max_pool needs a C-contiguous float32 batch (pad_batch makes one)")
        item = padded.itemsize
        # window t of text i starts at row cut + t and spans k rows = k·dim floats; the last
        # (t = steps − 1) ends at row cut + rows ≤ all_rows, inside the buffer (ndarray checks)
        windows = np.ndarray((b, steps, k * dim), np.float32, padded, cut * dim * item,
                             (all_rows * dim * item, dim * item, item))  # (B, steps, k·dim)
        out = windows.reshape(b * steps, k * dim) @ self.matrix  # copy + one matmul
        out = out.reshape(b, steps, self.maps)
        if b > 1:
            invalid = np.arange(steps)[None, :] >= (lengths[:, None] + k - 1)
            out[invalid] = -np.inf
        # the bias is constant over time: add it after the max (fewer additions)
        return out.max(axis=1) + self.bias


def pad_batch(embs: Sequence[np.ndarray], margin: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack texts (n_i, dim) into zeros (B, margin + max n + margin, dim) and their lengths."""
    lengths = np.array([e.shape[0] for e in embs], dtype=np.int64)
    longest = int(lengths.max())
    padded = np.zeros((len(embs), longest + 2 * margin, dim), dtype=np.float32)
    for i, e in enumerate(embs):
        padded[i, margin : margin + e.shape[0]] = e
    return padded, lengths


def encode(convs: Sequence[WideConv], embs: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenated max-pooled convolutions (B, Σ maps) of a batch of texts (no activation)."""
    margin = max(c.k for c in convs) - 1
    padded, lengths = pad_batch(embs, margin, convs[0].dim)
    parts = [conv.max_pool(padded, lengths, margin) for conv in convs]
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
