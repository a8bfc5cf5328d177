"""Rebuilding the derived GloVe subset: text format and the content check."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from millicent.data.derive import build_glove_subset, glove_subset_text, glove_subset_vocab
from millicent.errors import ChecksumMismatch

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _fake_package(root: Path, words: list[str], matrix: np.ndarray) -> Path:
    root.mkdir()
    np.save(root / "glove_6B_50d_emb.npy", matrix.astype(np.float32))
    pq.write_table(pa.table({"index": words}), root / "glove_6B_index.parquet")
    return root


def test_text_uses_the_shortest_float32_repr() -> None:
    emb = np.array([[0.418, -1.0, 6.3681e-05], [1.5, 2.0, 3.0]], dtype=np.float32)
    text = glove_subset_text(["the", "zzz"], emb, {"the"})
    assert text == b"the 0.418 -1 0.000063681\n"
    assert glove_subset_text(["zzz"], emb[:1], {"the"}) == b""


def test_vocab_is_sst_tokens_plus_trecqa_vocab(data_dir: Path) -> None:
    vocab = glove_subset_vocab(data_dir)
    assert len(vocab) == 64464  # SOURCES.md 3a: the union has 64464 words
    assert {"-lrb-", "charming", "``"} <= vocab


def test_build_and_content_check(data_dir: Path, tmp_path: Path) -> None:
    words = ["the", "qqqqnotaword", "movie", "-lrb-"]
    matrix = np.arange(8, dtype=np.float32).reshape(4, 2) / 4
    src = _fake_package(tmp_path / "pkg", words, matrix)
    out = tmp_path / "out" / "subset.txt.gz"
    digest = build_glove_subset(data_dir, out, source=src)
    assert gzip.decompress(out.read_bytes()) == b"the 0 0.25\nmovie 1 1.25\n-lrb- 1.5 1.75\n"
    with pytest.raises(ChecksumMismatch, match="rebuilt content sha256"):
        build_glove_subset(data_dir, tmp_path / "out2" / "x.gz", source=src, content_sha256="0" * 64)
    assert not (tmp_path / "out2" / "x.gz").exists()
    assert build_glove_subset(data_dir, out, source=src, content_sha256=digest) == digest
    assert sorted(p.name for p in out.parent.iterdir()) == ["subset.txt.gz"]
