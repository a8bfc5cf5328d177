"""A load killed midway (SIGKILL, a real subprocess) completes on the next run: exact
count, the checksum of the source vectors, and only the missing words are written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from millicent.store import open_store
from millicent.store.base import vectors_checksum
from tests.servers import REPO, Server

pytestmark = pytest.mark.integration

N = 20_000


def test_killed_load_resumes_without_duplicates(dynalite: Server, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    words = [f"tok{i}" for i in range(N)]
    matrix = rng.standard_normal((N, 50)).astype(np.float32)
    art = tmp_path / "art"
    art.mkdir()
    (art / "manifest.json").write_text(json.dumps({
        "format_version": 1, "kind": "kim_cnn", "task": "sst-1", "labels": ["neg", "pos"],
        "embedding": {"dim": 50, "source": "artifact", "variant": "rand"}}))
    np.savez(art / "embeddings.npz", words=np.array(words), matrix=matrix)
    url = f"dynamodb://resume-vectors?endpoint={dynalite.endpoint}&region=us-east-1"
    cmd = [sys.executable, "-m", "millicent.cli.main", "embeddings", "load", str(art),
           "--store", url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    probe = open_store(url, read_only=True)
    deadline = time.monotonic() + 60
    partial = 0
    while time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.3)
        try:
            partial = probe.count()
        except Exception:  # the table may not exist yet
            continue
        if partial >= N // 4:
            break
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert first.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    partial = probe.count()
    assert 0 < partial < N

    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["verified"] and report["count"] == N == probe.count()
    assert report["written"] + report["unchanged"] == N
    assert report["unchanged"] >= partial - 100  # in-flight batches may be rewritten
    assert report["written"] <= N - partial + 100
    assert report["checksum"] == vectors_checksum(zip(words, matrix, strict=True))
    assert "verified: all 20,000 loaded words read back" in second.stderr
    probe.close()
