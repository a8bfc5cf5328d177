"""The ONNX contract's pure logic: matching declared inputs to roles, output kinds, labels,
and the manifest section's own validation (declared interfaces are plain data here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from millicent.errors import ArtifactError, InvalidInput
from millicent.importer.contract import check_labels, declared_width, match_inputs, output_kind
from millicent.importer.graph import GraphInfo, TensorInfo
from millicent.runtime.onnx_section import OnnxSection


def graph(*inputs: TensorInfo) -> GraphInfo:
    out = TensorInfo("out", "float32", ("batch", 2))
    return GraphInfo(Path("g.onnx"), inputs, (out,), (), 8, 17, "test", "0" * 64)


TEXT = TensorInfo("x", "float32", ("batch", "tokens", 50))
Q = TensorInfo("q", "float32", ("batch", "q_tokens", 50))
A = TensorInfo("a", "float32", ("b", None, 50))
LEN = TensorInfo("n", "int64", ("batch",))


def test_inputs_are_matched_by_kind_and_order() -> None:
    assert match_inputs(graph(TEXT), "classify", 50, "glove-50") == {"embeddings": "x"}
    assert match_inputs(graph(LEN, TEXT), "classify", 50, "glove-50") == {"embeddings": "x", "lengths": "n"}
    qa = match_inputs(graph(Q, A, LEN, TensorInfo("m", "int64", (None,))), "rank", 50, "v")
    assert qa == {"question": "q", "answer": "a", "question_lengths": "n", "answer_lengths": "m"}


@pytest.mark.parametrize(("inputs", "role", "message"), [
    ((TensorInfo("x", "float64", ("batch", "t", 50)),), "classify", "is float64: the embeddings input must be float32"),
    ((TensorInfo("x", "float32", None),), "classify", "of unknown rank"),
    ((TensorInfo("x", "float32", ("batch", 7, 50)),), "classify", "fixed token axis of 7 (axis 1)"),
    ((TensorInfo("x", "float32", ("batch", "t", 300)),), "classify", "takes 300-d vectors but glove-50 has 50-d"),
    ((TEXT, TensorInfo("n", "int32", ("batch",))), "classify", "'n' int32 [batch] is int32: the lengths input must be int64"),
    ((TEXT, TEXT), "classify", "a classifier takes one input"),
    ((Q, A, LEN), "rank", "a ranker takes two inputs"),
    ((Q, TensorInfo("a", "float32", ("batch", "q_tokens", 50))), "rank", "share the token axis 'q_tokens'"),
])
def test_inputs_that_do_not_fit_are_named(inputs: tuple[TensorInfo, ...], role: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        match_inputs(graph(*inputs), role, 50, "glove-50")
    assert message in info.value.message


def test_output_kinds_follow_role_and_width() -> None:
    assert output_kind("classify", 5, None) == "logits"
    assert output_kind("classify", 5, "probabilities") == "probabilities"
    assert output_kind("rank", None, None) == "score" and output_kind("rank", 1, None) == "score"
    assert output_kind("rank", 2, None) == "logits"
    with pytest.raises(InvalidInput, match="a classifier's output is logits or probabilities"):
        output_kind("classify", 2, "score")
    with pytest.raises(InvalidInput, match="needs an output \\[batch, 2\\]; the graph answers \\[batch, 1\\]"):
        output_kind("rank", 1, "probabilities")
    with pytest.raises(InvalidInput, match="the graph answers 3 columns"):
        output_kind("rank", 3, None)


def test_declared_outputs_and_labels() -> None:
    assert declared_width(TensorInfo("o", "float32", ("batch", 4)), "classify") == 4
    assert declared_width(TensorInfo("o", "float32", ("batch", "n")), "classify") is None
    assert declared_width(TensorInfo("o", "float32", ("batch",)), "rank") is None
    with pytest.raises(InvalidInput, match="is of rank 1: a classify graph answers \\[batch, n_labels\\]"):
        declared_width(TensorInfo("o", "float32", ("batch",)), "classify")
    with pytest.raises(InvalidInput, match="is int64: the output must hold floats"):
        declared_width(TensorInfo("o", "int64", ("batch",)), "rank")
    check_labels("classify", ("a", "b"), 2, "o")
    with pytest.raises(InvalidInput, match="repeats a label"):
        check_labels("classify", ("a", "a"), 2, "o")
    with pytest.raises(InvalidInput, match="has 2 columns but 1 labels"):
        check_labels("classify", ("a",), 2, "o")


def test_the_manifest_section_round_trips_and_refuses_what_it_cannot_serve() -> None:
    section = OnnxSection("rank", {"question": "q", "answer": "a", "question_lengths": "n",
                                   "answer_lengths": "m"}, "s", "score", external_data=("w.data",))
    again = OnnxSection.from_manifest(section.to_dict(), "rank", "m.json")
    assert again == section and again.lengths and again.files() == ("model.onnx", "w.data")
    assert section.output_shapes(3, 0) == ((3,), (3, 1))
    bad = section.to_dict()
    bad["inputs"] = bad["inputs"][:3]  # one length only
    with pytest.raises(ArtifactError, match="lengths: all or none"):
        OnnxSection.from_manifest(bad, "rank", "m.json")
    escape = {**section.to_dict(), "external_data": ["../../etc/passwd"]}
    with pytest.raises(ArtifactError, match="must be a relative path inside the artifact"):
        OnnxSection.from_manifest(escape, "rank", "m.json")
    with pytest.raises(ArtifactError, match="a classifier's output is logits or probabilities"):
        OnnxSection.from_manifest({**section.to_dict(), "inputs": [{"role": "embeddings", "name": "x"}]},
                                  "classify", "m.json")
