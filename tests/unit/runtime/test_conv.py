"""Wide convolution + max pooling in numpy against a plain loop, batched and single."""

from __future__ import annotations

import numpy as np

from millicent.runtime.conv import WideConv, encode


def _reference(weight: np.ndarray, bias: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Textbook wide convolution: zero-pad k−1 on each side, dot every window, max."""
    _, dim, k = weight.shape
    x = np.concatenate([np.zeros((k - 1, dim)), emb, np.zeros((k - 1, dim))]).astype(np.float64)
    outs = []
    for t in range(emb.shape[0] + k - 1):
        window = x[t : t + k]  # (k, dim)
        outs.append(np.einsum("mdk,kd->m", weight.astype(np.float64), window) + bias)
    return np.max(outs, axis=0)


def _conv(rng: np.random.Generator, k: int, dim: int = 6, maps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    return (
        rng.normal(size=(maps, dim, k)).astype(np.float32),
        rng.normal(size=maps).astype(np.float32),
    )


def test_single_text_matches_the_textbook_loop() -> None:
    rng = np.random.default_rng(0)
    for k in (1, 3, 5):
        weight, bias = _conv(rng, k)
        conv = WideConv(weight, bias)
        for n in (1, 2, 7):
            emb = rng.normal(size=(n, 6)).astype(np.float32)
            got = encode([conv], [emb])[0]
            np.testing.assert_allclose(got, _reference(weight, bias, emb), atol=1e-5)


def test_batch_masks_padding_and_equals_one_by_one() -> None:
    rng = np.random.default_rng(1)
    convs = [WideConv(*_conv(rng, k)) for k in (3, 4, 5)]
    # Bias strongly positive, inputs negative-ish: unmasked padding positions (bias only)
    # would win the max for the short texts, so this fails without the mask.
    for c in convs:
        c.bias += 50.0
        c.matrix = np.abs(c.matrix)
    texts = [-np.abs(rng.normal(size=(n, 6))).astype(np.float32) for n in (1, 30, 2, 9)]
    batched = encode(convs, texts)
    single = np.concatenate([encode(convs, [t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert batched.shape == (4, 24)
