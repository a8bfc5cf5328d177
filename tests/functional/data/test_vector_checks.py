"""Issue 20, items 3 and 4: a vector file is checked as it loads.

* NaN / inf in a vector is refused with ``FILE:LINE`` (``FILE: record N`` in a binary
  file) — it used to load, verify and reach a forward pass; and whatever a store holds,
  the handler never answers a non-finite number (JSON has none): a 500 (the service's own
  check, which landed with issue 19).
* A ``COUNT DIM`` header is held to its count: a file cut short, or one with more rows than
  announced, is refused unless ``--ignore-header-count``.

Through the real CLI (``millicent embeddings load`` into SQLite) and the real handler.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.config import FunctionConfig, Limits
from millicent.errors import MillicentError, StoreError
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle
from millicent.runtime.registry import load_model
from millicent.store import open_store
from millicent.store.loader import load_store
from millicent.store.memory import MemoryStore
from millicent.train.shipped import artifacts_dir

ROWS = [("the", [0.1, 0.2, 0.3, 0.4]), ("movie", [0.5, -0.1, 0.0, 1.5]),
        ("was", [1.0, 2.0, 3.0, 4.0]), ("good", [0.2, 0.2, 0.2, 0.2]),
        ("bad", [-1.0, 0.5, 0.25, 0.0]), ("plot", [3.0, 1.0, 0.0, -2.0])]


def _text(path: Path, rows: list[tuple[str, list[Any]]], header: str | None = None) -> Path:
    lines = [header] if header is not None else []
    lines += [f"{w} {' '.join(str(x) for x in v)}" for w, v in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _load(source: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "millicent.cli.main", "embeddings", "load",
                           str(source), "--store", f"sqlite:///{db}", "--quiet", *extra],
                          capture_output=True, text=True, timeout=120, cwd=source.parent)


def _refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert message in done.stderr, done.stderr


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity", "1e39"])
def test_a_non_finite_value_is_refused_with_file_and_line(tmp_path: Path, bad: str) -> None:
    rows = list(ROWS)
    rows[2] = ("was", [1.0, bad, 3.0, 4.0])  # 1e39 overflows float32 to inf
    path = _text(tmp_path / "vectors.txt", rows)
    _refused(_load(path, tmp_path / "v.db"), f"{path}:3: a non-finite value")


def test_a_non_finite_value_in_a_binary_file_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "vectors.bin"
    with open(path, "wb") as f:
        f.write(b"3 4\n")
        for i, (w, v) in enumerate(ROWS[:3]):
            row = np.asarray(v, dtype="<f4")
            if i == 1:
                row[3] = np.inf
            f.write(w.encode() + b" " + row.tobytes() + b"\n")
    _refused(_load(path, tmp_path / "v.db"), f"{path}: record 2 ('movie'): a non-finite value (inf)")


def test_a_header_promising_more_rows_than_follow_is_refused(tmp_path: Path) -> None:
    path = _text(tmp_path / "cut.vec", ROWS, header="1000 4")
    _refused(_load(path, tmp_path / "v.db"),
             f"{path}:1: the header announces 1,000 rows but the file holds 6")
    done = _load(path, tmp_path / "v.db", "--ignore-header-count")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["words"] == report["count"] == 6 and report["verified"]


def test_a_header_promising_fewer_rows_than_follow_is_refused(tmp_path: Path) -> None:
    path = _text(tmp_path / "long.vec", ROWS, header="3 4")
    _refused(_load(path, tmp_path / "v.db"),
             f"{path}:5: more rows than the 3 the header announces")
    done = _load(path, tmp_path / "v.db", "--ignore-header-count")
    assert done.returncode == 0 and json.loads(done.stdout)["count"] == 6


def test_the_loader_refuses_non_finite_vectors_from_any_source(tmp_path: Path) -> None:
    words = [w for w, _ in ROWS]
    matrix = np.asarray([v for _, v in ROWS], dtype=np.float32)
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        bad = matrix.copy()
        bad[4, 0] = np.nan
        with pytest.raises(StoreError, match="the vector of 'bad' holds a non-finite value"):
            load_store(store, words, bad, source="table")
    with open_store(f"sqlite:///{tmp_path / 'b.db'}") as store:
        big = matrix.copy()
        big[1, 1] = 70000.0  # finite as float32, inf as float16
        with pytest.raises(StoreError, match=r"'movie'.*as float16"):
            load_store(store, words, big, source="table", dtype="float16")


def _classify_env(store: MemoryStore) -> FunctionEnvironment:
    kim = artifacts_dir() / "kim-sst1-static"
    config = FunctionConfig(models=(("kim", str(kim)),), store_url=None, pack_path=None,
                            lru_size=0, store_deadline_s=1.0, limits=Limits())
    return FunctionEnvironment(config=lambda: config, models=lambda _: {"kim": load_model(kim)},
                               store=lambda _: store)


def test_the_handler_never_answers_a_non_finite_number() -> None:
    rng = np.random.default_rng(3)
    words = ["the", "movie", "was", "good"]
    matrix = rng.normal(size=(4, 50)).astype(np.float32)
    matrix[1, 7] = np.nan  # a store filled before the loader refused such rows
    env = _classify_env(MemoryStore.from_vectors(words, matrix))
    event = {"version": "2.0", "rawPath": "/classify", "isBase64Encoded": False,
             "body": json.dumps({"sentence": "the movie was good"}),
             "requestContext": {"http": {"method": "POST", "path": "/classify"}, "stage": "$default"}}
    response = handle(event, None, env)
    assert response["statusCode"] == 500  # the service refuses the model's NaN (not a crash)
    body = json.loads(response["body"], parse_constant=_no_constant)
    assert "NaN or infinity" in body["message"]
    fine = handle({**event, "body": json.dumps({"sentence": "the was good"})}, None, env)
    assert fine["statusCode"] == 200
    with pytest.raises(MillicentError):  # a direct invocation raises, as any handler error
        handle({"sentence": "the movie"}, None, env)


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in a response body")
