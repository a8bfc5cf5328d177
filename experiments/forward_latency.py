"""Forward-pass latency per input, numpy runtime vs torch, one thread.

For each artifact: every SST dev sentence (Kim CNN) or every TrecQA raw-dev pair (SM CNN)
is embedded once (vectors from the manifest's source), then the forward pass alone is timed
per input, ``--rounds`` times over the whole set, after a warm-up round that is discarded:

* ``numpy``: ``millicent.runtime`` (``predict`` / ``score``);
* ``torch``: the same weights in the torch model, ``inference_mode``, one thread.

Also: cold-start numbers of the lean runtime (import time, artifact load time) in a fresh
interpreter. Threads are pinned to one before numpy or torch is imported.

    python experiments/forward_latency.py [--artifact millicent/artifacts/kim-sst1-static ...]
        [--data-dir ../shared/data] [--rounds 5] [--out runs/forward_latency.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for numpy's BLAS, before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.economics.stats import latency_stats  # noqa: E402
from millicent.runtime.registry import load_model  # noqa: E402
from millicent.runtime.roles import Classifier, Ranker  # noqa: E402
from millicent.train.evaluate import memory_embeddings  # noqa: E402

DEFAULT_ARTIFACTS = ["millicent/artifacts/kim-sst1-static", "millicent/artifacts/kim-sst2-glue-nonstatic",
                     "millicent/artifacts/sm-trecqa"]

COLD_PROBE = r"""
import os, sys, time, json
os.environ["OMP_NUM_THREADS"] = "1"
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
from millicent.runtime.registry import load_model
import millicent.runtime.service
t2 = time.perf_counter()
load_model(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import_numpy_ms": (t1 - t0) * 1e3, "import_runtime_ms": (t2 - t1) * 1e3,
                  "load_artifact_ms": (t3 - t2) * 1e3}))
"""


def _time_each(inputs: list[Any], fn: Callable[[Any], object], rounds: int) -> list[float]:
    for x in inputs:  # warm-up round, discarded
        fn(x)
    out: list[float] = []
    clock = time.perf_counter
    for _ in range(rounds):
        for x in inputs:
            t0 = clock()
            fn(x)
            out.append((clock() - t0) * 1000.0)
    return out


def _inputs(model: Classifier | Ranker, data_dir: Path) -> list[Any]:
    """Embedded dev inputs: (emb,) per sentence or (q_emb, a_emb, q_tokens, a_tokens) per pair."""
    if isinstance(model, Classifier):
        from millicent.data.sst import load_sst

        encs = [model.encode(e.text) for e in load_sst(data_dir, task=model.task, split="dev")]
        store = memory_embeddings(model, data_dir, [t for enc in encs for t in enc.tokens])
        return [(store.lookup(enc.keys).matrix,) for enc in encs]
    from millicent.data.trecqa import load_trecqa

    pairs = [(model.encode(p.question), model.encode(p.answer))
             for p in load_trecqa(data_dir, "raw-dev")]
    store = memory_embeddings(model, data_dir, [t for q, a in pairs for t in q.tokens + a.tokens])
    return [(store.lookup(q.keys).matrix, store.lookup(a.keys).matrix, q.tokens, a.tokens)
            for q, a in pairs]


def _torch_fn(model: Classifier | Ranker) -> Callable[[Any], object]:
    import torch

    from millicent.torch_models.rebuild import torch_model_from_artifact

    torch.set_num_threads(1)
    net: Any = torch_model_from_artifact(model.artifact)
    if isinstance(model, Ranker) and model.needs_tokens:
        raise SystemExit("the torch baseline here covers models without overlap features")

    if isinstance(model, Classifier):
        def run(x: Any) -> object:
            with torch.inference_mode():
                e = torch.from_numpy(x[0])[None]
                return torch.softmax(net.forward_embedded(e, torch.tensor([e.shape[1]])), 1)
        return run

    def run_pair(x: Any) -> object:
        with torch.inference_mode():
            q, a = torch.from_numpy(x[0])[None], torch.from_numpy(x[1])[None]
            logits = net.forward_embedded(q, torch.tensor([q.shape[1]]), a, torch.tensor([a.shape[1]]))
            return torch.softmax(logits, 1)[0, 1]
    return run_pair


def bench_artifact(path: str, data_dir: Path, rounds: int, with_torch: bool) -> dict[str, Any]:
    model = load_model(path)
    inputs = _inputs(model, data_dir)
    result: dict[str, Any] = {"artifact": path, "kind": model.kind, "task": model.task,
                              "inputs": len(inputs), "rounds": rounds}
    if isinstance(model, Classifier):
        clf = model
        result["numpy"] = latency_stats(_time_each(inputs, lambda x: clf.predict(x[0]), rounds)).to_dict()
    else:
        rk = model
        result["numpy"] = latency_stats(
            _time_each(inputs, lambda x: rk.score(x[0], x[1], x[2], x[3]), rounds)).to_dict()
    if with_torch:
        result["torch"] = latency_stats(_time_each(inputs, _torch_fn(model), rounds)).to_dict()
    cold = subprocess.run([sys.executable, "-c", COLD_PROBE, path], capture_output=True, text=True,
                          cwd=REPO, check=True)
    result["cold"] = json.loads(cold.stdout)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--artifact", action="append", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    p.add_argument("--out", default="runs/forward_latency.json")
    args = p.parse_args()
    data_dir = config.data_dir(args.data_dir)
    results = [bench_artifact(a, data_dir, args.rounds, not args.no_torch)
               for a in (args.artifact or DEFAULT_ARTIFACTS)]
    print("| artifact | inputs | numpy p50 / p99 (ms) | torch p50 / p99 (ms) | import runtime (ms) | load (ms) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        t = r.get("torch")
        torch_cell = f"{t['p50']:.3f} / {t['p99']:.3f}" if t else "-"
        print(f"| {r['artifact']} | {r['inputs']} | {r['numpy']['p50']:.3f} / {r['numpy']['p99']:.3f} "
              f"| {torch_cell} | {r['cold']['import_runtime_ms']:.0f} | {r['cold']['load_artifact_ms']:.1f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
