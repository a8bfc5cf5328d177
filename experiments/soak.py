"""Soak: C clients in a closed loop for D seconds against ``millicent serve`` with the
DynamoDB store on dynalite, checking that nothing degrades.

    python experiments/soak.py [--duration 120] [--concurrency 32] [--warmup 10] \
        [--artifact millicent/artifacts/kim-sst1-static] [--data-dir ../shared/data] \
        [--dynamodb-endpoint http://127.0.0.1:8000] [--lru-size 0] [--out runs/soak]

Starts dynalite (unless ``--dynamodb-endpoint``), loads the SST-1 dev vocabulary's vectors
into a table with the real ``millicent embeddings load``, starts the platform with the
Kim CNN (``--max-concurrency`` = C, so the closed loop never meets a 429), warms it up at C
(every environment started), then sends the 1,101 SST-1 dev sentences round and round.

Pass (exit status 0) when, over the measured phase:

* zero errors: every answer a 200 whose prediction for a sentence never changes;
  the platform counts no error and no throttle;
* the same environments (PIDs) from start to end: none died or was replaced;
* each environment's resident memory grew by less than 10 %;
* p99 latency of the last window is at most ``--max-p99-ratio`` (1.5) × the first's;
  the windows are the first and last 30 s (a quarter of the run when shorter).

``--lru-size 0`` (the default) makes every request read DynamoDB, so a leak or slowdown on
the store path shows; the frequent-word pack is not used. Writes ``results.json`` to
``--out`` and prints a summary; the CI test (tests/reliability/test_soak.py) runs
:func:`soak` for 10 s with tolerances for a loaded machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.cli.main import main as millicent  # noqa: E402
from millicent.economics.stats import percentile  # noqa: E402
from millicent.testing import loopback as servers  # noqa: E402
from millicent.testing.loopback import PlatformProcess, start_platform  # noqa: E402

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"


def load_vectors(artifact: Path, store_url: str, vocab: str, data_dir: Path) -> None:
    """``millicent embeddings load ARTIFACT --store URL --vocab-from VOCAB``."""
    rc = millicent(["embeddings", "load", str(artifact), "--store", store_url, "--vocab-from", vocab,
                    "--data-dir", str(data_dir), "--quiet"])
    if rc != 0:
        raise RuntimeError(f"embeddings load into {store_url} failed (exit {rc})")

TABLE = "millicent-soak"


@dataclass(frozen=True)
class Criteria:
    """What a soak must show to pass."""

    max_errors: int = 0
    max_rss_growth: float = 0.10  #: per environment, (end − start) / start
    max_p99_ratio: float = 1.5  #: p99 of the last window / p99 of the first
    min_requests_per_window: int = 200  #: fewer and a p99 says little


@dataclass
class Result:
    """The figures of one soak (``results.json``)."""

    concurrency: int
    duration_s: float
    window_s: float
    requests: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    throughput_rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    first_window: dict[str, float] = field(default_factory=dict)
    last_window: dict[str, float] = field(default_factory=dict)
    p99_ratio: float = 0.0
    environments: int = 0
    environments_replaced: int = 0
    rss_start_mb: dict[str, float] = field(default_factory=dict)
    rss_end_mb: dict[str, float] = field(default_factory=dict)
    max_rss_growth: float = 0.0
    gateway_rss_mb: tuple[float, float] = (0.0, 0.0)
    platform_errors: int = 0
    platform_throttles: int = 0
    warmup_requests: int = 0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)  #: at the end of the run


def rss_mb(pid: int) -> float | None:
    """Resident set size now (``VmRSS``), MiB; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return None


@dataclass
class _Loop:
    """Shared state of the closed loop's workers."""

    bodies: list[bytes]
    answers: dict[int, tuple[Any, ...]]  #: sentence index → the first answer seen
    records: list[tuple[float, float, int, str]] = field(default_factory=list)  # sent_s, ms, status, error
    next_index: itertools.count[int] = field(default_factory=itertools.count)


async def _closed_loop(url: str, loop: _Loop, concurrency: int, duration_s: float, t0: float,
                       min_each: int = 0) -> None:
    """``concurrency`` workers, each sending the next sentence as soon as it has its answer,
    until ``duration_s`` has passed and each has had ``min_each`` answers."""
    import aiohttp

    stop = time.perf_counter() + duration_s
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            done = 0
            while time.perf_counter() < stop or done < min_each:
                done += 1
                i = next(loop.next_index) % len(loop.bodies)
                sent = time.perf_counter()
                error = ""
                try:
                    async with session.post(url, data=loop.bodies[i],
                                            headers={"content-type": "application/json"}) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, raw, error = 0, b"", f"{type(exc).__name__}: {exc}"
                ms = (time.perf_counter() - sent) * 1000.0
                if status == 200:
                    body = json.loads(raw)
                    answer = (body["label"], tuple(body["probabilities"]), tuple(body["unknown_words"]))
                    if loop.answers.setdefault(i, answer) != answer:
                        error = "a different answer for the same sentence"
                elif not error:
                    error = f"HTTP {status}"
                loop.records.append((sent - t0, ms, status, error))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _window(records: list[tuple[float, float, int, str]], start: float, end: float) -> dict[str, float]:
    lat = [ms for sent, ms, status, err in records if start <= sent < end and status == 200 and not err]
    if not lat:
        return {"n": 0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {"n": len(lat), "p50_ms": round(percentile(lat, 50), 3), "p99_ms": round(percentile(lat, 99), 3)}


def _env_rss(platform: PlatformProcess) -> dict[str, float]:
    out = {}
    for pid in platform.env_pids():
        mb = rss_mb(int(pid))
        if mb is not None:
            out[str(pid)] = round(mb, 2)
    return out


def soak(platform: PlatformProcess, sentences: list[str], *, concurrency: int, duration_s: float,
         warmup_s: float, window_s: float | None = None, path: str = "/classify") -> Result:
    """Warm up, then run the closed loop for ``duration_s`` and collect the figures."""
    window = window_s if window_s is not None else min(30.0, duration_s / 4)
    bodies = [json.dumps({"sentence": s}).encode() for s in sentences]
    url = platform.url + path
    loop = _Loop(bodies, {})
    t0 = time.perf_counter()
    # warm-up: the first wave starts C environments at once (cold starts take seconds on a
    # small machine); every worker then has two answers, and the warm-up time runs after that
    asyncio.run(_closed_loop(url, loop, concurrency, 0.0, t0, min_each=2))
    asyncio.run(_closed_loop(url, loop, concurrency, warmup_s, t0))
    warm = loop.records
    bad_warmup = [r for r in warm if r[2] != 200 or r[3]]
    stats0 = platform.stats()
    pids0 = sorted(platform.env_pids())
    rss0 = _env_rss(platform)
    gw0 = rss_mb(platform.proc.pid) or 0.0

    loop.records = []
    t_measure = time.perf_counter()
    asyncio.run(_closed_loop(url, loop, concurrency, duration_s, t_measure))
    elapsed = time.perf_counter() - t_measure
    rss1 = _env_rss(platform)
    gw1 = rss_mb(platform.proc.pid) or 0.0
    pids1 = sorted(platform.env_pids())
    stats1 = platform.stats()

    recs = loop.records
    ok = [ms for _, ms, status, err in recs if status == 200 and not err]
    kinds: dict[str, int] = {}
    for _, _, status, err in recs + bad_warmup:
        if status != 200 or err:
            kinds[err or f"HTTP {status}"] = kinds.get(err or f"HTTP {status}", 0) + 1
    first = _window(recs, 0.0, window)
    last = _window(recs, duration_s - window, duration_s + 60.0)
    growth = [(rss1[p] - rss0[p]) / rss0[p] for p in rss0 if p in rss1]
    return Result(
        concurrency=concurrency, duration_s=round(elapsed, 3), window_s=window,
        requests=len(recs), errors=sum(kinds.values()), error_kinds=kinds,
        throughput_rps=round(len(ok) / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(ok, 50), 3) if ok else 0.0,
        p99_ms=round(percentile(ok, 99), 3) if ok else 0.0,
        first_window=first, last_window=last,
        p99_ratio=round(last["p99_ms"] / first["p99_ms"], 3) if first["p99_ms"] else float("inf"),
        environments=len(pids1), environments_replaced=len(set(pids0) ^ set(pids1)),
        rss_start_mb=rss0, rss_end_mb=rss1,
        max_rss_growth=round(max(growth), 4) if growth else float("inf"),
        gateway_rss_mb=(round(gw0, 2), round(gw1, 2)),
        platform_errors=stats1["errors"] - stats0["errors"],
        platform_throttles=stats1["throttles"] - stats0["throttles"],
        warmup_requests=len(warm),
        load_average=tuple(round(x, 2) for x in os.getloadavg()),  # type: ignore[arg-type]
    )


def check(result: Result, criteria: Criteria) -> list[str]:
    """Every criterion the soak failed, in words (empty: it passed)."""
    failed = []
    if result.errors > criteria.max_errors:
        failed.append(f"{result.errors} errors: {result.error_kinds}")
    if result.platform_errors or result.platform_throttles:
        failed.append(f"the platform counted {result.platform_errors} errors and "
                      f"{result.platform_throttles} throttles")
    if result.environments_replaced or not result.environments:
        failed.append(f"environments replaced during the run: {result.environments_replaced}")
    if len(result.rss_start_mb) != result.environments or result.max_rss_growth >= criteria.max_rss_growth:
        failed.append(f"environment RSS grew by up to {result.max_rss_growth:.1%} "
                      f"(limit {criteria.max_rss_growth:.0%})")
    for name, w in (("first", result.first_window), ("last", result.last_window)):
        if w["n"] < criteria.min_requests_per_window:
            failed.append(f"only {w['n']} requests in the {name} window")
    if result.p99_ratio > criteria.max_p99_ratio:
        failed.append(f"p99 went from {result.first_window['p99_ms']} ms to "
                      f"{result.last_window['p99_ms']} ms (×{result.p99_ratio}, limit ×{criteria.max_p99_ratio})")
    return failed


def prepare_table(endpoint: str, data_dir: Path, artifact: Path = KIM) -> str:
    """The store URL of a table holding the SST-1 dev vocabulary (loaded and verified)."""
    url = f"dynamodb://{TABLE}?endpoint={endpoint}&region=us-east-1"
    load_vectors(artifact, url, "sst-1:dev", data_dir)
    return url


def start_soak_platform(store_url: str, concurrency: int, log_dir: Path, lru_size: int = 0,
                        artifact: Path = KIM) -> PlatformProcess:
    return start_platform(["--model", f"kim={artifact}", "--store", store_url,
                           "--max-concurrency", str(concurrency), "--lru-size", str(lru_size),
                           "--idle-timeout", "3600", "--timeout", "30"], log_dir)


def summary(result: Result, failed: list[str]) -> str:
    r = result
    lines = [
        f"soak: C={r.concurrency}, {r.duration_s:.1f} s measured after {r.warmup_requests} warm-up requests"
        f" (load average at the end {r.load_average[0]})",
        f"requests {r.requests}, errors {r.errors}, {r.throughput_rps} req/s, p50 {r.p50_ms} ms, p99 {r.p99_ms} ms",
        f"first {r.window_s:g} s: n={r.first_window['n']} p50 {r.first_window['p50_ms']} ms p99 {r.first_window['p99_ms']} ms",
        f"last {r.window_s:g} s:  n={r.last_window['n']} p50 {r.last_window['p50_ms']} ms p99 {r.last_window['p99_ms']} ms (×{r.p99_ratio})",
        f"environments {r.environments} (replaced {r.environments_replaced}), RSS "
        f"{sum(r.rss_start_mb.values()):.1f} → {sum(r.rss_end_mb.values()):.1f} MB in all, "
        f"max growth {r.max_rss_growth:.2%}; gateway {r.gateway_rss_mb[0]} → {r.gateway_rss_mb[1]} MB",
        "PASS" if not failed else "FAIL: " + "; ".join(failed),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds at C before measuring")
    ap.add_argument("--window", type=float, default=None, help="seconds of the first/last window")
    ap.add_argument("--artifact", type=Path, default=KIM)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--dynamodb-endpoint", default=None, help="use this DynamoDB instead of a fresh dynalite")
    ap.add_argument("--lru-size", type=int, default=0)
    ap.add_argument("--max-p99-ratio", type=float, default=Criteria.max_p99_ratio)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "soak")
    args = ap.parse_args(argv)

    from millicent.data.sst import load_sst

    sentences = [ex.text for ex in load_sst(args.data_dir, "sst-1", "dev")]
    dynalite = None if args.dynamodb_endpoint else servers.start_dynalite()
    platform = None
    try:
        endpoint = args.dynamodb_endpoint or (dynalite.endpoint if dynalite else "")
        url = prepare_table(endpoint, args.data_dir, args.artifact)
        args.out.mkdir(parents=True, exist_ok=True)
        log_dir = Path(tempfile.mkdtemp(prefix="soak-", dir=args.out))
        platform = start_soak_platform(url, args.concurrency, log_dir, args.lru_size, args.artifact)
        result = soak(platform, sentences, concurrency=args.concurrency, duration_s=args.duration,
                      warmup_s=args.warmup, window_s=args.window)
    finally:
        if platform is not None:
            platform.stop()
        if dynalite is not None:
            dynalite.stop()
    failed = check(result, Criteria(max_p99_ratio=args.max_p99_ratio))
    (args.out / "results.json").write_text(json.dumps(
        {"result": asdict(result), "failed": failed, "args": {k: str(v) for k, v in vars(args).items()}},
        indent=2))
    print(summary(result, failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
