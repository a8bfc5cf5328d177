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


def test_a_candidate_is_found_by_the_name_a_manifest_records() -> None:
    from millicent.importer.hf.quantize import config_named

    assert config_named(None, 384, 1536, 6) == CONFIGS[0]
    assert config_named("weight-only", 384, 1536, 6) == WEIGHT_ONLY
    layer5 = config_named("per-channel, FFN-down fp32 in layer 5", 384, 1536, 6)
    assert layer5 is not None and layer5.down_layers == (5,)
    assert config_named("per-channel, FFN-down fp32 in layer 6", 384, 1536, 6) is None
