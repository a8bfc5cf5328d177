"""Batches through the local platform (``millicent serve``, real awslambdaric
environments, the shipped Kim CNN, vectors loaded by the real CLI), and ``millicent batch``
as a real process: killed with SIGKILL twice and resumed, it writes the file an
uninterrupted run writes; refused texts mid-batch, 429s of a low ``--max-concurrency`` and
a store outage (a fault proxy in front of dynalite) are each answered or retried."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from millicent.batch.job import run_job
from millicent.batch.runner import BatchJob
from millicent.economics.cost import CostOptions
from millicent.economics.prices import load_prices
from millicent.testing.loopback import PlatformProcess, start_platform
from tests.batch_support import assert_same_results, read_results
from tests.integration.faultproxy import FaultProxy
from tests.integration.platform.test_serve_models import find_artifact, load_vectors, require
from tests.servers import REPO, Server

pytestmark = pytest.mark.integration

LIMIT = 256  # MILLICENT_MAX_BATCH's default
BLANK_AT = 12_345  # the blank line of the 20,000-line file


@pytest.fixture(scope="module")
def kim() -> Path:
    return require(find_artifact("kim_cnn", "sst-1"), "Kim CNN SST-1")


@pytest.fixture(scope="module")
def sqlite_url(kim: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store')}/vectors.db"
    load_vectors(kim, url, "sst-1", data_dir)
    return url


@pytest.fixture(scope="module")
def platform(kim: Path, sqlite_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(["--model", f"kim={kim}", "--store", sqlite_url, "--max-tokens", "200",
                        "--max-concurrency", "8"], tmp_path_factory.mktemp("serve"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def dev(data_dir: Path) -> list[str]:
    from millicent.data.sst import load_sst

    sentences = [e.text for e in load_sst(data_dir, "sst-1", "dev")]
    assert len(sentences) == 1101
    return sentences


def batch_cli(inp: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "millicent.cli.main", "batch", "--input", str(inp),
            "--endpoint", url, "--out", str(out), "--no-progress", *extra]


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_1101_dev_sentences_in_batches_equal_1101_single_requests(
        platform: PlatformProcess, dev: list[str]) -> None:
    with ThreadPoolExecutor(4) as pool:
        singles = list(pool.map(lambda s: platform.post("/classify", {"sentence": s}), dev))
    assert [r.status for r in singles] == [200] * 1101
    batched: list[dict[str, Any]] = []
    for lo in range(0, 1101, LIMIT):
        r = platform.post("/classify", {"sentences": dev[lo:lo + LIMIT]})
        assert r.status == 200, r.body[:300]
        body = r.json()
        assert body["model"] == "kim" and body["timings"]["batch"] == len(dev[lo:lo + LIMIT])
        batched.extend(body["results"])
    assert len(batched) == 1101
    for b, s in zip(batched, (r.json() for r in singles), strict=True):
        assert b["label"] == s["label"] and b["tokens"] == s["tokens"]
        assert b["probabilities"] == pytest.approx(s["probabilities"], abs=1e-6)
    over = platform.post("/classify", {"sentences": dev[:LIMIT + 1]})
    assert over.status == 413 and over.json()["limit"] == LIMIT


def test_killed_twice_with_sigkill_and_resumed_equals_an_uninterrupted_run(
        platform: PlatformProcess, dev: list[str], tmp_path: Path) -> None:
    lines = [dev[i % len(dev)] for i in range(20_000)]
    lines[BLANK_AT - 1] = ""
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    opts = ["--batch-size", "256", "--concurrency", "3"]
    ref = tmp_path / "ref.jsonl"
    done = subprocess.run(batch_cli(inp, ref, platform.url, *opts), cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "20,000 lines: 19,999 answered, 1 error lines" in done.stdout
    out = tmp_path / "out.jsonl"
    for at in (5_000, 12_000):
        proc = subprocess.Popen(batch_cli(inp, out, platform.url, *opts), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while count_lines(out) < at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "killed mid-run, not after it ended"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert at <= count_lines(out) < 20_000
    last = subprocess.run(batch_cli(inp, out, platform.url, *opts), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr
    assert "complete" in last.stdout and "(3 runs of this job in all)" in last.stdout
    got, want = read_results(out), read_results(ref)
    assert [d["line"] for d in got] == list(range(1, 20_001))
    assert_same_results(got, want)
    errors = [d for d in got if "error" in d]
    assert errors == [{"line": BLANK_AT, "error": "blank_line", "message": "blank line"}]


def test_refused_texts_mid_batch_and_batches_over_the_limit(
        platform: PlatformProcess, dev: list[str], tmp_path: Path) -> None:
    texts = dev[:600]
    bad = {100: "\u200b\u200b", 350: " ".join(["word"] * 201), 351: "\x01\x02", 599: "\u200b"}
    rows = [{"text": bad.get(i, t)} for i, t in enumerate(texts)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    # 300 texts per batch: more than the function takes, so the runner learns its limit
    report = run_job(BatchJob(inp, out, platform.url, batch_size=300, concurrency=2,
                              progress=False), load_prices(), CostOptions())
    got = read_results(out)
    assert [d["line"] for d in got] == list(range(1, 601))
    refused = {d["line"] - 1: d for d in got if "error" in d}
    assert sorted(refused) == sorted(bad)
    assert refused[350]["message"] == "the text has 201 tokens; the limit is 200"
    assert all(d["status"] == 400 and d["error"] == "invalid_input" for d in refused.values())
    assert refused[100]["message"] == "the text is empty"
    for i in (0, 99, 101, 349, 352, 598):
        single = platform.post("/classify", {"sentence": texts[i]}).json()
        assert got[i]["label"] == single["label"]
        assert got[i]["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)
    s = report.session
    assert s is not None and s["splits"] >= 1 and s["retries"] == 0


def test_429s_of_a_busy_platform_are_retried(kim: Path, sqlite_url: str, dev: list[str],
                                             tmp_path: Path) -> None:
    p = start_platform(["--model", f"kim={kim}", "--store", sqlite_url, "--max-concurrency", "1"],
                       tmp_path / "serve")
    try:
        inp = tmp_path / "in.txt"
        inp.write_text("\n".join(dev) + "\n", encoding="utf-8")
        done = subprocess.run(batch_cli(inp, tmp_path / "out.jsonl", p.url, "--batch-size", "32",
                                        "--concurrency", "4"),
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "1,101 lines: 1,101 answered, 0 error lines" in done.stdout
        assert "(429: " in done.stdout
        assert p.stats()["throttles"] > 0
    finally:
        assert p.stop() == 0


def test_a_store_outage_is_retried_until_the_store_is_back(
        kim: Path, dynalite: Server, dev: list[str], platform: PlatformProcess,
        tmp_path: Path, data_dir: Path) -> None:
    table = f"batch-outage-{os.getpid()}"
    load_vectors(kim, f"dynamodb://{table}?endpoint={dynalite.endpoint}&region=us-east-1",
                 "sst-1:dev", data_dir)
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(dev[:400]) + "\n", encoding="utf-8")
    ref = tmp_path / "ref.jsonl"
    run_job(BatchJob(inp, ref, platform.url, progress=False), load_prices(), CostOptions())
    with FaultProxy(dynalite.endpoint) as proxy:
        store = f"dynamodb://{table}?endpoint={proxy.endpoint}&region=us-east-1"
        p = start_platform(["--model", f"kim={kim}", "--store", store, "--lru-size", "0",
                            "--env", "MILLICENT_STORE_DEADLINE_S=0.3"], tmp_path / "serve")
        try:
            # a warm environment first, and one request at a time: the outage then meets a
            # running function (503), not an INIT (whose failed store read is a 502)
            assert p.post("/classify", {"sentences": dev[:2]}).status == 200
            proxy.throttle_all = True
            healed = threading.Timer(2.0, lambda: setattr(proxy, "throttle_all", False))
            healed.start()
            out = tmp_path / "out.jsonl"
            # the job in its own process: this one runs the proxy's thread (see
            # tests/functional/batch_function_server.py on threads compiling at once)
            done = subprocess.run(batch_cli(inp, out, p.url, "--batch-size", "50",
                                            "--concurrency", "1"),
                                  cwd=REPO, capture_output=True, text=True, timeout=120)
            healed.join()
        finally:
            assert p.stop() == 0
    assert done.returncode == 0, done.stderr
    assert "400 lines: 400 answered" in done.stdout, done.stdout
    assert re.search(r"\(.*503: \d+.*\)", done.stdout), done.stdout
    assert proxy.counters.throttled > 0
    assert_same_results(read_results(out), read_results(ref))
