"""Vector files in the formats people have, streamed in batches; and vocabulary coverage."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from millicent.data.coverage import coverage
from millicent.data.vectorfile import (
    RowBuffer,
    iter_vector_batches,
    probe_vector_file,
    read_rows,
)
from millicent.data.vectors import load_vectors
from millicent.errors import DataError
from millicent.tokenizers.ptb import ptb_key

RNG = np.random.default_rng(5)
WORDS = [f"w{i}" for i in range(2345)] + ["Apple", "apple", "new york", "-lrb-"]
MATRIX = RNG.standard_normal((len(WORDS), 7)).astype(np.float32)
# keys: "Apple"/"apple" share one (the first row wins); "new york" holds a space
KEYS = [f"w{i}" for i in range(2345)] + ["apple", "new york", "("]
ROWS = [*range(2345), 2345, 2347, 2348]


def text_file(path: Path, header: bool, trailing_space: bool = False) -> Path:
    """GloVe (no header) / word2vec text / fastText .vec (header, a space at each line end)."""
    end = " \n" if trailing_space else "\n"
    with open(path, "w", encoding="utf-8") as f:
        if header:
            f.write(f"{len(WORDS)} {MATRIX.shape[1]}\n")
        for w, row in zip(WORDS, MATRIX, strict=True):
            f.write(w + " " + " ".join(repr(float(x)) for x in row) + end)
    return path


def binary_file(path: Path, newline: bool = True) -> Path:
    words = [w.replace(" ", "_") for w in WORDS]  # a binary word cannot hold a space
    with open(path, "wb") as f:
        f.write(f"{len(words)} {MATRIX.shape[1]}\n".encode())
        for w, row in zip(words, MATRIX, strict=True):
            f.write(w.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b""))
    return path


def gz(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    return out


@pytest.mark.parametrize("fmt", ["glove.txt", "word2vec.txt", "fasttext.vec", "glove.txt.gz",
                                 "fasttext.vec.gz", "word2vec.bin", "gensim.bin", "word2vec.bin.gz"])
def test_every_format_reads_the_same_table(tmp_path: Path, fmt: str) -> None:
    name = fmt.removesuffix(".gz")
    if name == "glove.txt":
        path = text_file(tmp_path / name, header=False)
    elif name == "word2vec.txt":
        path = text_file(tmp_path / name, header=True)
    elif name == "fasttext.vec":
        path = text_file(tmp_path / name, header=True, trailing_space=True)
    else:
        path = binary_file(tmp_path / name, newline=name != "gensim.bin")
    if fmt.endswith(".gz"):
        path = gz(path)
    info = probe_vector_file(path)
    assert info.dim == 7 and info.kind == ("binary" if ".bin" in fmt else "text")
    assert info.count == (None if name == "glove.txt" else len(WORDS))
    keys, matrix = read_rows(path, key=ptb_key)
    want = KEYS if ".bin" not in fmt else [*KEYS[:-2], "new_york", "("]
    assert keys == want and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, MATRIX[ROWS])
    assert load_vectors(str(path), key=ptb_key).words == want


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_batches_stream_the_file(tmp_path: Path, kind: str) -> None:
    path = text_file(tmp_path / "v.vec", header=True) if kind == "text" else binary_file(tmp_path / "v.bin")
    batches = list(iter_vector_batches(path, rows=1000, key=ptb_key))
    assert [len(k) for k, _ in batches] == [1000, 1000, 348]
    assert all(m.shape == (len(k), 7) for k, m in batches)
    np.testing.assert_array_equal(np.concatenate([m for _, m in batches]), MATRIX[ROWS])
    # a vocabulary: only its keys, and reading stops once all were found
    picked = list(iter_vector_batches(path, vocab=["W3", "w1000", "-LRB-", "absent"], rows=2, key=ptb_key))
    assert [k for k, _ in picked] == [["w3", "w1000"], ["("]]
    with open(path, "ab") as f:
        f.write(b"broken tail\n")  # never reached once every wanted key was found
    picked = list(iter_vector_batches(path, vocab=["W3", "w1000"], rows=2, key=ptb_key))
    assert [k for k, _ in picked] == [["w3", "w1000"]]
    with pytest.raises(DataError):
        list(iter_vector_batches(path, vocab=["W3", "absent"], key=ptb_key))
    limited = list(iter_vector_batches(path, limit=1500, rows=1000, key=ptb_key))
    assert sum(len(k) for k, _ in limited) == 1500


def test_vocab_selection_keeps_file_order(tmp_path: Path) -> None:
    keys, matrix = read_rows(text_file(tmp_path / "v.txt", header=False),
                             vocab=["-lrb-", "APPLE", "w7"], key=ptb_key)
    assert keys == ["w7", "apple", "("]
    np.testing.assert_array_equal(matrix, MATRIX[[7, 2345, 2348]])


def test_row_buffer_grows_in_place() -> None:
    buf = RowBuffer(3, capacity=2)
    for i in range(10):
        buf.extend(np.full((3, 3), i, np.float32))
    table = buf.finish()
    assert table.shape == (30, 3) and table.flags.owndata
    assert table[::3, 0].tolist() == list(range(10))


def test_malformed_vector_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\nof 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2 has 2 values, expected 3"):
        read_rows(bad, key=ptb_key)
    nan = tmp_path / "num.vec"
    nan.write_text("2 3\nthe 0.1 0.2 0.3\nof 0.1 x 0.3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"num\.vec:3: could not convert"):
        read_rows(nan, key=ptb_key)
    trunc = tmp_path / "t.bin"
    trunc.write_bytes(binary_file(tmp_path / "v.bin").read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated vector for '-lrb-'"):
        read_rows(trunc, key=ptb_key)
    with pytest.raises(DataError, match="not found"):
        probe_vector_file(tmp_path / "absent.vec")


def test_coverage_counts_tokens_words_and_the_top_missing() -> None:
    tokens = ["the", "cat", "sat", "on", "the", "mat", "-LRB-", "the", "zzz", "zzz", "qq"]
    cov = coverage(tokens, {"the", "cat", "sat", "on", "("}, key=ptb_key)
    assert (cov.tokens, cov.tokens_covered, cov.words, cov.words_covered) == (11, 7, 8, 5)
    assert cov.missing == [("zzz", 2), ("mat", 1), ("qq", 1)]
    assert cov.token_share == pytest.approx(7 / 11)
    d = cov.to_dict()
    assert d["top_missing"] == [["zzz", 2], ["mat", 1], ["qq", 1]] and d["word_share"] == 0.625
    assert "63.6% of 11 tokens" in cov.line() and "zzz (2)" in cov.line()
    cased = coverage(["The", "the"], {"the"}, key=lambda t: ptb_key(t, lowercase=False))
    assert cased.missing == [("The", 1)]
