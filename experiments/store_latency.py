"""Embedding-fetch latency per SST sentence: DynamoDB binary vs list layout, pack + LRU.

Starts dynalite and redis-server on loopback (tests/servers.py), loads GloVe 6B 50-d
(the SST-1 vocabulary; the list table: the SST-1 dev words only, it loads at ~1k words/s)
and then, for every SST-1 dev sentence (tokenized as the function does), times the lookup
of its unique words (``store.lookup``: one BatchGetItem / MGET / SELECT + decode + matrix):

* ``dynamodb-binary``, ``dynamodb-list``, ``sqlite``, ``redis``: no cache;
* ``dynamodb-binary+pack10k``: a 10k-word pack (GloVe order) in front, no LRU;
* ``dynamodb-binary+pack10k+lru``: the pack and a warm LRU (the warm-up pass over the dev
  set fills it, so only the pack and the LRU answer: a long-warm function).

Each configuration runs ``--rounds`` passes over the dev set after a discarded warm-up
pass; medians and p90 in ms, and the ratios to ``dynamodb-binary``, are printed as JSON.

    python experiments/store_latency.py [--data-dir ../shared/data] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.cli.main import main as _cli  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.runtime.artifact import TokenizerSpec  # noqa: E402
from millicent.store import open_embeddings  # noqa: E402
from millicent.testing import loopback as servers  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402
from millicent.types import Embeddings  # noqa: E402


def cli(argv: list[str]) -> int:
    """Run a millicent verb with its stdout (JSON reports) sent to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        return _cli(argv)


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def time_config(store: Embeddings, sentences: list[list[str]], rounds: int) -> dict[str, Any]:
    for toks in sentences:  # warm-up pass (connections, LRU), discarded
        store.lookup(toks)
    ms: list[float] = []
    calls = items = no_call = 0
    for _ in range(rounds):
        for toks in sentences:
            t0 = time.perf_counter()
            lk = store.lookup(toks)
            ms.append((time.perf_counter() - t0) * 1000.0)
            calls += lk.stats.store_calls
            items += lk.stats.store_items
            no_call += lk.stats.store_calls == 0
    n = len(ms)
    return {"median_ms": round(statistics.median(ms), 3), "p90_ms": round(percentile(ms, 0.9), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "requests": n,
            "store_calls_per_request": round(calls / n, 3),
            "store_items_per_request": round(items / n, 2),
            "requests_without_store_call": round(no_call / n, 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    data_dir = str(config.data_dir(args.data_dir))
    ptb = make_tokenizer(TokenizerSpec.of("ptb"))  # the shipped models' tokenizer: store keys
    sentences = [ptb.encode(ex.text).keys for ex in load_sst(data_dir, "sst-1", "dev")]
    uniq = [len(set(s)) for s in sentences]
    tmp = Path(tempfile.mkdtemp(prefix="store-latency-"))
    dyn = servers.start_dynalite()
    red = servers.start_redis()
    try:
        ddb = f"?endpoint={dyn.endpoint}&region=us-east-1"
        urls = {
            "dynamodb-binary": f"dynamodb://bench-binary{ddb}",
            "dynamodb-list": f"dynamodb://bench-list{ddb}&layout=list",
            "sqlite": f"sqlite:///{tmp}/bench.db",
            "redis": f"redis://127.0.0.1:{red.port}/0?prefix=bench:",
        }
        common = ["--data-dir", data_dir, "--quiet"]
        for name, url in urls.items():
            vocab = "sst-1:dev" if name == "dynamodb-list" else "sst-1"
            if cli(["embeddings", "load", "glove-50", "--store", url, "--vocab-from", vocab,
                    *common]) != 0:
                raise SystemExit(f"loading {name} failed")
        pack = tmp / "top10k.pack"
        cli(["embeddings", "pack", "glove-50", "--top", "10000", "--out", str(pack),
             "--data-dir", data_dir])
        results: dict[str, Any] = {}
        for name, url in urls.items():
            with open_embeddings(url) as store:
                results[name] = time_config(store, sentences, args.rounds)
        with open_embeddings(urls["dynamodb-binary"], pack_path=str(pack)) as st:
            results["dynamodb-binary+pack10k"] = time_config(st, sentences, args.rounds)
        with open_embeddings(urls["dynamodb-binary"], pack_path=str(pack), lru_size=50_000) as st:
            results["dynamodb-binary+pack10k+lru"] = time_config(st, sentences, args.rounds)
    finally:
        dyn.stop()
        red.stop()
    base = results["dynamodb-binary"]["median_ms"]
    out = {
        "sentences": len(sentences),
        "unique_words_per_sentence": {"median": statistics.median(uniq), "max": max(uniq)},
        "results": results,
        "median_ratio_to_dynamodb_binary": {
            k: round(v["median_ms"] / base, 3) for k, v in results.items()},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
