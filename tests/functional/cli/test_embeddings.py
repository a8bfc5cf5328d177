"""``millicent embeddings load|pack|info|lookup`` end to end on SQLite (in-process CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.runtime.artifact import TokenizerSpec
from millicent.store.pack import FrequentWordPack
from millicent.tokenizers import make_tokenizer

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

RNG = np.random.default_rng(5)
WORDS = ["the", ",", "-lrb-", "movie", "naïve", "good", "bad"] + [f"w{i}" for i in range(200)]
MATRIX = RNG.standard_normal((len(WORDS), 12)).astype(np.float32)


def artifact(tmp: Path, words: list[str] = WORDS, matrix: np.ndarray = MATRIX) -> Path:
    """An artifact directory with a learned table (what a non-static model exports)."""
    d = tmp / "art"
    d.mkdir(exist_ok=True)
    (d / "manifest.json").write_text(json.dumps({
        "format_version": 1, "kind": "kim_cnn", "task": "sst-1", "labels": ["neg", "pos"],
        "embedding": {"dim": int(matrix.shape[1]), "dtype": "float32", "source": "artifact",
                      "variant": "non-static"},
    }))
    np.savez(d / "embeddings.npz", words=np.array(words), matrix=matrix)
    return d


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_load_info_lookup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    art = artifact(tmp_path)
    url = f"sqlite:///{tmp_path}/v.db"
    rc, out, err = run(capsys, "embeddings", "load", str(art), "--store", url)
    assert rc == 0, err
    report = json.loads(out)
    assert report["verified"] and report["count"] == len(WORDS) == report["written"]
    assert "verified: all 207 loaded words read back" in err and "words/s" in err

    rc, out, _ = run(capsys, "embeddings", "info", "--store", url, "--count")
    info = json.loads(out)
    assert (info["dim"], info["dtype"], info["layout"], info["count"]) == (12, "float32", "binary", 207)
    assert info["count_actual"] == 207 and info["source"].startswith("artifact:art@")

    rc, out, err = run(capsys, "embeddings", "lookup", "--store", url, "--stats", "(", "Movie", "zzz")
    got = json.loads(out)
    assert got["zzz"] is None
    assert np.array_equal(np.array(got["("], dtype=np.float32), MATRIX[2])
    assert np.array_equal(np.array(got["Movie"], dtype=np.float32), MATRIX[3])
    assert json.loads(err)["store_hits"] == 2


def test_reload_is_idempotent_and_other_dimensions_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    assert run(capsys, "embeddings", "load", str(artifact(tmp_path)), "--store", url, "--quiet")[0] == 0
    rc, out, _ = run(capsys, "embeddings", "load", str(artifact(tmp_path)), "--store", url, "--quiet")
    assert rc == 0 and json.loads(out)["written"] == 0 and json.loads(out)["count"] == 207
    other = tmp_path / "o"
    other.mkdir()
    art300 = artifact(other, ["x", "y"], np.ones((2, 30), np.float32))
    rc, _, err = run(capsys, "embeddings", "load", str(art300), "--store", url)
    assert rc == 1 and "dim=12" in err and "dim=30" in err


def test_float16_load_and_matching_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    art = artifact(tmp_path)
    url = f"sqlite:///{tmp_path}/h.db"
    assert run(capsys, "embeddings", "load", str(art), "--store", url, "--dtype", "float16",
               "--quiet")[0] == 0
    out_file = tmp_path / "p.pack"
    rc, _, err = run(capsys, "embeddings", "pack", str(art), "--top", "5", "--out", str(out_file),
                     "--store", url)
    assert rc == 2 and "--dtype float16" in err  # a float32 pack would disagree with the store
    rc, out, err = run(capsys, "embeddings", "pack", str(art), "--top", "5", "--out", str(out_file),
                       "--store", url, "--dtype", "float16")
    assert rc == 0, err
    assert json.loads(out)["first"] == ["the", ",", "(", "movie", "naïve"]
    rc, out, err = run(capsys, "embeddings", "lookup", "--store", url, "--pack", str(out_file),
                       "--stats", "the", "w3")
    s = json.loads(err)
    assert (s["pack_hits"], s["store_hits"]) == (1, 1)
    the = np.array(json.loads(out)["the"], dtype=np.float32)
    assert np.array_equal(the, MATRIX[0].astype(np.float16).astype(np.float32))


def test_pack_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "b.pack"
    # 12-d float32 = 48 bytes + key: 1 KiB holds ~18 words
    rc, out, _ = run(capsys, "embeddings", "pack", str(artifact(tmp_path)), "--budget-mb",
                     str(1024 / 2**20), "--out", str(out_file))
    assert rc == 0
    n = json.loads(out)["words"]
    assert 15 <= n <= 20 and len(FrequentWordPack.open(out_file)) == n
    # no size given: the store layer's default budget, which holds every word here
    rc, out, _ = run(capsys, "embeddings", "pack", str(artifact(tmp_path)), "--out", str(out_file))
    assert rc == 0 and json.loads(out)["words"] == len(WORDS)


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    rc, _, err = run(capsys, "embeddings", "load", str(artifact(tmp_path)), "--store", url,
                     "--vocab-from", "imdb")
    assert rc == 2 and "--vocab-from takes a dataset" in err
    rc, _, err = run(capsys, "embeddings", "info", "--store", "ftp://x")
    assert rc == 2 and "unknown store URL" in err
    rc, _, err = run(capsys, "embeddings", "info", "--store", f"sqlite:///{tmp_path}/none.db")
    assert rc == 1 and "does not exist" in err


def glove_file(tmp: Path, words: list[str], matrix: np.ndarray) -> Path:
    """A small GloVe-format text file, gzipped."""
    import gzip

    path = tmp / "small.50d.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for w, row in zip(words, matrix, strict=True):
            f.write(w + " " + " ".join(repr(float(x)) for x in row) + "\n")
    return path


def test_vector_file_source_with_artifact_vocab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vec = glove_file(tmp_path, WORDS, MATRIX)
    art = artifact(tmp_path, ["movie", "w7", "(", "unseen"], np.ones((4, 12), np.float32))
    url = f"sqlite:///{tmp_path}/f.db"
    rc, out, err = run(capsys, "embeddings", "load", str(vec), "--store", url, "--vocab-from",
                       str(art), "--quiet")
    assert rc == 0, err
    assert json.loads(out)["count"] == 3  # movie, w7 and "(" (GloVe's -lrb- row): unseen has none
    rc, out, _ = run(capsys, "embeddings", "lookup", "--store", url, "--", "-LRB-", "w7", "w8")
    got = json.loads(out)
    assert got["w8"] is None and np.array_equal(np.array(got["w7"], np.float32), MATRIX[14])


def test_static_artifact_resolves_to_its_source_and_task_vocabulary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    words = ["the", "movie", "zzqqxx-not-in-sst", "film"]
    vec = glove_file(tmp_path, words, MATRIX[:4])
    art = tmp_path / "static"
    art.mkdir()
    (art / "manifest.json").write_text(json.dumps({
        "format_version": 1, "kind": "kim_cnn", "task": "sst-1", "labels": ["neg", "pos"],
        "embedding": {"dim": 12, "dtype": "float32", "source": str(vec), "variant": "static"}}))
    url = f"sqlite:///{tmp_path}/s.db"
    rc, out, err = run(capsys, "embeddings", "load", str(art), "--store", url,
                       "--data-dir", str(data_dir), "--quiet")
    assert rc == 0, err
    report = json.loads(out)
    assert report["count"] == 3 and report["source"] == str(vec)


def test_a_cased_load_keeps_apple_and_Apple_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.store import open_store

    vec = tmp_path / "cased.txt"
    vec.write_text("Apple 1 0 0\napple 0 1 0\nthe 0 0 1\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path}/cased.db"
    rc, _, err = run(capsys, "embeddings", "load", str(vec), "--store", url, "--no-lowercase", "--quiet")
    assert rc == 0, err
    with open_store(url, read_only=True) as store:
        cased = store.lookup(["Apple", "apple", "APPLE"])
        assert cased.matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
        assert store.count() == 3
    url2 = f"sqlite:///{tmp_path}/lower.db"
    assert run(capsys, "embeddings", "load", str(vec), "--store", url2, "--quiet")[0] == 0
    with open_store(url2, read_only=True) as store:
        assert store.count() == 2  # "Apple" and "apple" are one key, the first row wins
        assert store.lookup(PTB.keys(["APPLE"])).matrix.tolist() == [[1, 0, 0]]
