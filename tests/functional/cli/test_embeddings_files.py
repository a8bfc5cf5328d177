"""``millicent embeddings load FILE --vocab-from DATAFILE`` on real files written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.store import open_store

RNG = np.random.default_rng(2)
WORDS = ["the", "movie", "was", "great", ",", "really", "(", "who", "wrote", "it", "?",
         "shakespeare", "did", "."] + [f"filler{i}" for i in range(50)]
MATRIX = RNG.standard_normal((len(WORDS), 6)).astype(np.float32)


def fasttext_vec(path: Path) -> Path:
    """fastText's .vec layout: a COUNT DIM header, a space at the end of every line."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(WORDS)} 6\n")
        for w, row in zip(WORDS, MATRIX, strict=True):
            f.write(w + " " + " ".join(f"{x:.9g}" for x in row) + " \n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def stored_words(url: str) -> set[str]:
    with open_store(url, read_only=True) as store:
        return {w for w in WORDS if store.get_many([w])}


def test_a_vec_file_is_streamed_into_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    rc, out, err = run(capsys, "embeddings", "load", str(fasttext_vec(tmp_path / "w.vec")),
                       "--store", url)
    assert rc == 0, err
    assert "(streamed)" in err and f"loading {len(WORDS)} 6-d vectors" in err
    report = json.loads(out)
    assert report["verified"] and report["count"] == len(WORDS)
    with open_store(url, read_only=True) as store:
        np.testing.assert_array_equal(store.get_many(["movie"])["movie"], MATRIX[1])


def test_vocab_from_a_csv_keeps_its_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "reviews.csv"
    csv.write_text('id,review,label\n1,"The movie was great, really (great)",pos\n', encoding="utf-8")
    url = f"sqlite:///{tmp_path}/v.db"
    rc, _, err = run(capsys, "embeddings", "load", str(fasttext_vec(tmp_path / "w.vec")),
                     "--store", url, "--vocab-from", str(csv), "--text-column", "review")
    assert rc == 0, err
    # PTB tokens, downcased; -lrb- finds "("
    assert stored_words(url) == {"the", "movie", "was", "great", ",", "really", "("}
    rc, _, err = run(capsys, "embeddings", "load", str(tmp_path / "w.vec"), "--store", url,
                     "--vocab-from", str(csv))
    assert rc != 0 and "no column 'text'" in err


def test_vocab_from_a_pairs_jsonl_and_a_txt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = tmp_path / "qa.jsonl"
    pairs.write_text(json.dumps({"question": "Who wrote it?", "answer": "Shakespeare did.",
                                 "label": 1}) + "\n", encoding="utf-8")
    texts = tmp_path / "more.txt"
    texts.write_text("the movie\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path}/v.db"
    rc, _, err = run(capsys, "embeddings", "load", str(fasttext_vec(tmp_path / "w.vec")),
                     "--store", url, "--vocab-from", str(pairs), "--text-column", "question,answer")
    assert rc == 0, err
    assert stored_words(url) == {"who", "wrote", "it", "?", "shakespeare", "did", "."}
    url2 = f"sqlite:///{tmp_path}/t.db"
    rc, _, err = run(capsys, "embeddings", "pack", str(tmp_path / "w.vec"), "--top", "5",
                     "--out", str(tmp_path / "p.pack"), "--vocab-from", str(texts))
    assert rc == 0, err
    rc, _, err = run(capsys, "embeddings", "load", str(tmp_path / "w.vec"), "--store", url2,
                     "--vocab-from", str(texts))
    assert rc == 0 and stored_words(url2) == {"the", "movie"}


def test_a_broken_vocab_file_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text\nfine\n\"never closed\nok\n")
    rc, _, err = run(capsys, "embeddings", "load", str(fasttext_vec(tmp_path / "w.vec")),
                     "--store", f"sqlite:///{tmp_path}/v.db", "--vocab-from", str(bad))
    assert rc != 0 and f"{bad}:3: a quoted field is never closed" in err
