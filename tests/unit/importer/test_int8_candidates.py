"""The int8 candidates, smallest graph first: dynamic, weight-only, one layer's FFN-down kept
float32, then all of them."""

from __future__ import annotations

from millicent.importer.hf.quantize import CONFIGS, WEIGHT_ONLY, candidates


def test_one_layer_at_a_time_comes_before_every_layer() -> None:
    names = [c.name for c in candidates(384, 1536, 3)]
    assert names == ["per-channel", "weight-only", "per-channel, FFN-down fp32 in layer 0",
                     "per-channel, FFN-down fp32 in layer 1", "per-channel, FFN-down fp32 in layer 2",
                     "per-channel, FFN-down fp32", "per-channel, FFN fp32"]
    assert [c.down_layers for c in candidates(384, 1536, 2)[2:4]] == [(0,), (1,)]


def test_a_model_whose_ffn_cannot_be_told_apart_gets_the_whole_graph_candidates() -> None:
    assert candidates(64, 64, 6) == (CONFIGS[0], WEIGHT_ONLY)
