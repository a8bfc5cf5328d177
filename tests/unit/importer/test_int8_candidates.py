"""The int8 candidates, smallest graph first: one layer's FFN-down kept float32 before all."""

from __future__ import annotations

from millicent.importer.hf.quantize import CONFIGS, candidates


def test_one_layer_at_a_time_comes_before_every_layer() -> None:
    names = [c.name for c in candidates(384, 1536, 3)]
    assert names == ["per-channel", "per-channel, FFN-down fp32 in layer 0",
                     "per-channel, FFN-down fp32 in layer 1", "per-channel, FFN-down fp32 in layer 2",
                     "per-channel, FFN-down fp32", "per-channel, FFN fp32"]
    assert [c.down_layers for c in candidates(384, 1536, 2)[1:3]] == [(0,), (1,)]


def test_a_model_whose_ffn_cannot_be_told_apart_gets_one_candidate() -> None:
    assert candidates(64, 64, 6) == CONFIGS[:1]
