"""What ``POST /v1/embeddings`` adds over ``POST /embed`` for one text, in the handler.

The handler is called in-process (the API Gateway v2 events the platform and a Function URL
send; no processes or sockets, which would add their noise to both) with an embedding
artifact, its store and pack: one text per request, the same SST-1 dev sentences through
both routes, interleaved request by request (so drift of the machine hits both alike).
Reports p50/p99 of each route and the p50 of the per-sentence differences, for ``float``
and ``base64`` answers; the goal: ``/v1/embeddings`` adds ≤ 0.1 ms p50.

    python experiments/openai_overhead.py --artifact ARTIFACT --store sqlite:///tokens.db \\
        [--pack PACK] --data-dir ../shared/data [--rounds 5] [--out runs/openai-overhead]

``--limit 50 --rounds 1`` is the short version a test runs.
"""

from __future__ import annotations

import os

# the BLAS setting the handler gives every execution environment (one thread)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.platform.apigw import HttpRequest, http_api_event  # noqa: E402
from millicent.runtime.environment import FunctionEnvironment  # noqa: E402
from millicent.runtime.handler import handle  # noqa: E402

NAME = "embedder"
GOAL_MS = 0.1


def event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return http_api_event(HttpRequest("POST", path, "", [], json.dumps(body).encode(),
                                      "127.0.0.1", "x", "127.0.0.1"))


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"n": len(values), "p50": round(float(np.percentile(a, 50)), 4),
            "p99": round(float(np.percentile(a, 99)), 4), "mean": round(float(a.mean()), 4)}


def measure(env: FunctionEnvironment, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
            rounds: int) -> dict[str, Any]:
    """Each pair (``/embed`` event, ``/v1/embeddings`` event) in turn, ``rounds`` times."""
    ctx = SimpleNamespace(function_name=NAME, aws_request_id="bench")
    for a, b in pairs[:50]:  # warm-up: both routes' first calls import what they use
        handle(a, ctx, env)
        handle(b, ctx, env)
    gc.collect()
    gc.freeze()  # the benchmark's own objects are not the function's: no GC pauses on them
    embed_ms, openai_ms, diff_ms = [], [], []
    for n in range(rounds):
        for a, b in pairs:
            first, second = (a, b) if n % 2 == 0 else (b, a)  # neither always runs first
            t0 = time.perf_counter()
            r1 = handle(first, ctx, env)
            t1 = time.perf_counter()
            r2 = handle(second, ctx, env)
            t2 = time.perf_counter()
            assert r1["statusCode"] == 200 and r2["statusCode"] == 200, (r1["body"], r2["body"])
            e, o = ((t1 - t0), (t2 - t1)) if first is a else ((t2 - t1), (t1 - t0))
            embed_ms.append(e * 1000.0)
            openai_ms.append(o * 1000.0)
            diff_ms.append((o - e) * 1000.0)
    gc.unfreeze()
    return {"embed": summary(embed_ms), "v1_embeddings": summary(openai_ms),
            "added": summary(diff_ms),
            "added_p50_of_routes": round(float(np.median(openai_ms) - np.median(embed_ms)), 4)}


def same_vectors(env: FunctionEnvironment, text: str) -> bool:
    """The two routes answer the same vector for ``text`` (float answer)."""
    ctx = SimpleNamespace(function_name=NAME, aws_request_id="check")
    mine = json.loads(handle(event("/embed", {"sentence": text}), ctx, env)["body"])
    theirs = json.loads(handle(event("/v1/embeddings", {"model": NAME, "input": text,
                                                        "encoding_format": "float"}),
                               ctx, env)["body"])
    return bool(mine["embedding"] == theirs["data"][0]["embedding"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--pack", default=None)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--limit", type=int, default=None, help="first N dev sentences")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default=None)
    args = p.parse_args()

    function_env = {config.MODELS: f"{NAME}={Path(args.artifact).resolve()}",
                    config.STORE_URL: args.store, config.INIT_MODE: "lazy"}
    if args.pack:
        function_env[config.PACK_PATH] = str(Path(args.pack).resolve())
    env = FunctionEnvironment(config=lambda: config.FunctionConfig.from_env(function_env))
    texts = [e.text for e in load_sst(args.data_dir, "sst-1", "dev")][:args.limit]
    results: dict[str, Any] = {"artifact": args.artifact, "store": args.store, "texts": len(texts),
                               "rounds": args.rounds}
    for fmt in ("float", "base64"):
        pairs = [(event("/embed", {"sentence": t}),
                  event("/v1/embeddings", {"model": NAME, "input": t, "encoding_format": fmt}))
                 for t in texts]
        results[fmt] = measure(env, pairs, args.rounds)
    results["same_vectors"] = same_vectors(env, texts[0])
    worst = max(results[f]["added"]["p50"] for f in ("float", "base64"))
    results["goal"] = {"added_p50_ms": worst, "limit_ms": GOAL_MS, "met": worst <= GOAL_MS}
    env.close()
    for fmt in ("float", "base64"):
        r = results[fmt]
        print(f"{fmt:>6}: /embed p50 {r['embed']['p50']:.4f} ms, /v1/embeddings p50 "
              f"{r['v1_embeddings']['p50']:.4f} ms; added per text p50 {r['added']['p50']:+.4f} ms "
              f"(p99 {r['added']['p99']:+.4f})")
    print(f"goal ≤ {GOAL_MS} ms added at p50: {'met' if results['goal']['met'] else 'NOT met'}; "
          f"same vector through both routes: {results['same_vectors']}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
