"""The typed manifest: version 1 and 2 read alike, what is wrong is named, one rule says
where an artifact's vectors come from, and a function refuses models over different ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.errors import ArtifactError, ConfigError
from millicent.runtime.artifact import (
    FORMAT_VERSION,
    Manifest,
    TokenizerSpec,
    read_manifest,
    save_artifact,
    vectors_source,
)
from millicent.runtime.one_table import check_one_table

V1 = {"format_version": 1, "kind": "kim_cnn", "task": "sst-2", "labels": ["negative", "positive"],
      "config": {"widths": [3]}, "embedding": {"dim": 4, "source": "glove-50", "variant": "static"},
      "tokenizer": {"version": "ptb-1"}, "extra_section": {"kept": True}}


def test_a_version_1_manifest_reads_with_the_defaults_and_is_written_as_version_2() -> None:
    m = Manifest.from_dict(V1)
    assert (m.kind, m.role, m.labels, m.dim, m.task) == ("kim_cnn", "classify", ("negative", "positive"), 4, "sst-2")
    assert m.tokenizer == TokenizerSpec("ptb", True, "ptb-1")
    assert m.sections == {"extra_section": {"kept": True}}
    out = m.to_dict()
    assert out["format_version"] == FORMAT_VERSION == 2 and out["role"] == "classify"
    assert out["tokenizer"] == {"name": "ptb", "lowercase": True, "version": "ptb-1"}
    assert Manifest.from_dict(out) == Manifest.from_dict({**out}) and out["extra_section"] == {"kept": True}
    assert Manifest.from_dict(out).format_version == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": 3}, "unknown artifact format version 3"),
    ({"kind": "transformer"}, "unknown model kind"),
    ({"labels": []}, "needs 'labels'"),
    ({"labels": [{"x": 1}]}, "list of names"),
    ({"role": "generate"}, "'role' must be one of"),
    ({"embedding": {"source": "glove-50"}}, "embedding.dim"),
    ({"tokenizer": {"name": "bpe", "version": "bpe-1"}}, "unknown tokenizer 'bpe'"),
    ({"tokenizer": {"name": "ptb", "version": "ptb-9"}}, "version 'ptb-9'"),
    ({"tokenizer": {"name": "ptb", "version": "ptb-1", "lowercase": "yes"}}, "lowercase"),
    ({"config": []}, "'config' must be an object"),
])
def test_what_is_wrong_is_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        Manifest.from_dict({**V1, **change}, "x/manifest.json")


def test_a_cased_whitespace_tokenizer_round_trips() -> None:
    m = Manifest.from_dict({**V1, "tokenizer": TokenizerSpec.of("whitespace", False).to_dict()})
    assert (m.tokenizer.name, m.tokenizer.lowercase, m.tokenizer.version) == ("whitespace", False, "whitespace-1")
    with pytest.raises(ArtifactError):
        TokenizerSpec.of("sentencepiece")


def _artifact(path: Path, **embedding: Any) -> Path:
    manifest = {**V1, "embedding": {"dim": 4, "source": "glove-50", **embedding}}
    table = None
    if embedding.get("source") == "artifact":
        table = (["the", "film"], np.arange(8, dtype=np.float32).reshape(2, 4))
    return save_artifact(path, manifest, {"fc.bias": np.zeros(2)}, embeddings=table)


def test_vectors_source_is_the_manifest_s_pretrained_source_or_the_learned_table(tmp_path: Path) -> None:
    a, b = _artifact(tmp_path / "a"), _artifact(tmp_path / "b")
    sa, sb = vectors_source(a), vectors_source(b)
    assert sa == sb and (sa.spec, sa.label, sa.learned, sa.dim) == ("glove-50", "glove-50", False, 4)
    learned = vectors_source(_artifact(tmp_path / "ns", source="artifact", variant="non-static"))
    assert learned.learned and learned.spec == "artifact" and learned.label.startswith("artifact:ns@")
    assert learned != sa
    other = vectors_source(_artifact(tmp_path / "ns2", source="artifact", variant="non-static"))
    assert other.label != learned.label  # same words, another directory: never one table
    (tmp_path / "ns" / "embeddings.npz").unlink()
    with pytest.raises(ArtifactError, match=r"embeddings\.npz is missing"):
        vectors_source(tmp_path / "ns")


def test_a_function_refuses_models_over_different_vectors(tmp_path: Path) -> None:
    glove = read_manifest(_artifact(tmp_path / "a"))
    check_one_table({"kim": glove, "kim2": glove})
    learned = read_manifest(_artifact(tmp_path / "ns", source="artifact", variant="non-static"))
    check_one_table({"ns": learned})
    with pytest.raises(ConfigError, match="ns: its own learned table"):
        check_one_table({"kim": glove, "ns": learned})
    with pytest.raises(ConfigError, match="separate functions"):
        check_one_table({"ns": learned, "ns2": learned})
    w2v = read_manifest(_artifact(tmp_path / "w", source="vectors/w2v.bin"))
    with pytest.raises(ConfigError, match=r"vectors/w2v\.bin"):
        check_one_table({"kim": glove, "w": w2v})


def test_read_manifest_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps([1]))
    with pytest.raises(ArtifactError, match="JSON object"):
        read_manifest(tmp_path)
