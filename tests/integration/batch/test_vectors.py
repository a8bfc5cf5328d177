"""A corpus to vectors through an ``embed`` function on the local platform: ``millicent batch
--out vectors.npy`` as a real process, killed with SIGKILL twice and resumed, writes the
bytes an uninterrupted run writes (``.npy`` and its error lines); the rows equal ``POST
/embed``'s vectors; Parquet holds the same rows with their lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from millicent.batch.vectors import HEADER_BYTES, errors_path
from millicent.testing.loopback import PlatformProcess, start_platform
from tests.embed_support import glove_mean
from tests.servers import REPO

pytestmark = pytest.mark.integration

DIM = 50
LINES = 20_000
BLANK_AT = 12_345


@pytest.fixture(scope="module")
def platform(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    root = tmp_path_factory.mktemp("vectors")
    artifact, store = glove_mean(root, data_dir, "sst-1")
    p = start_platform(["--model", f"emb={artifact}", "--store", store, "--max-concurrency", "8"],
                       root / "serve")
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def corpus(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from millicent.data.sst import load_sst

    dev = [e.text for e in load_sst(data_dir, "sst-1", "dev")]
    lines = [dev[i % len(dev)] for i in range(LINES)]
    lines[BLANK_AT - 1] = ""
    path = tmp_path_factory.mktemp("corpus") / "in.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def batch(inp: Path, out: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "millicent.cli.main", "batch", "--input", str(inp),
            "--endpoint", url, "--function", "emb", "--out", str(out), "--no-progress",
            "--batch-size", "64", "--concurrency", "3", "--block-lines", "512"]


def rows_written(out: Path) -> int:
    try:
        return max(0, out.stat().st_size - HEADER_BYTES) // (4 * DIM)
    except FileNotFoundError:
        return 0


def test_killed_twice_with_sigkill_and_resumed_equals_an_uninterrupted_run(
        platform: PlatformProcess, corpus: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref.npy"
    done = subprocess.run(batch(corpus, ref, platform.url), cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{LINES:,} lines: {LINES - 1:,} answered, 1 error lines" in done.stdout
    out = tmp_path / "out.npy"
    for at in (5_000, 12_000):
        proc = subprocess.Popen(batch(corpus, out, platform.url), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while rows_written(out) < at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "killed mid-run, not after it ended"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert at <= rows_written(out) < LINES
    last = subprocess.run(batch(corpus, out, platform.url), cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert last.returncode == 0, last.stderr
    assert "(3 runs of this job in all)" in last.stdout
    assert out.read_bytes() == ref.read_bytes()
    assert errors_path(out).read_bytes() == errors_path(ref).read_bytes()
    vectors = np.load(out)
    assert vectors.shape == (LINES, DIM) and vectors.dtype == np.float32
    assert np.isnan(vectors[BLANK_AT - 1]).all()
    assert not np.isnan(np.delete(vectors, BLANK_AT - 1, axis=0)).any()
    (error,) = [json.loads(x) for x in errors_path(out).read_text().splitlines()]
    assert error == {"line": BLANK_AT, "error": "blank_line", "message": "blank line"}


def test_rows_are_the_functions_vectors_and_parquet_has_them_too(
        platform: PlatformProcess, corpus: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    head = tmp_path / "head.txt"
    head.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:700]))
    npy, parquet = tmp_path / "v.npy", tmp_path / "v.parquet"
    for out in (npy, parquet):
        done = subprocess.run(batch(head, out, platform.url), cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    vectors = np.load(npy)
    texts = head.read_text(encoding="utf-8").splitlines()
    reply = platform.post("/embed", {"sentences": texts[:100]})
    assert reply.status == 200
    want = np.asarray([r["embedding"] for r in reply.json()["results"]], dtype=np.float32)
    assert np.array_equal(vectors[:100], want)  # mean_vectors: the batch changes nothing
    table = pq.read_table(parquet)
    assert table.column("line").to_pylist() == list(range(1, 701))
    assert np.array_equal(np.asarray(table.column("embedding").to_pylist(), dtype=np.float32),
                          vectors)
    assert not (tmp_path / "v.parquet.rows.npy").exists()
