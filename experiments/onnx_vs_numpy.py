"""The shipped Kim CNN served two ways in one run: millicent's numpy kind vs its ONNX export.

1. Export: the artifact's network rebuilt in torch (``torch_model_from_artifact``), wrapped
   to take the embedded input and the true lengths (``forward_embedded``: padded positions
   masked out of the max, like the numpy runtime), ``torch.onnx.export`` with dynamic axes,
   then ``millicent import onnx`` (the importer's checks and probe included).
2. Forward pass per sentence (SST dev, embedded once), one thread each, ``--rounds`` rounds
   alternating numpy / onnxruntime after a discarded warm-up; also the largest difference
   between the two engines' probabilities.
3. Cold start on the local platform: ``--cold`` fresh execution environments per engine
   (alternating), each serving one cold and ``--warm`` warm invocations from a SQLite store;
   the platform's REPORT figures: Init Duration (spawn → first ``/next``: the handler's
   import builds model and store), first and warm Duration, Max Memory Used.
4. Package: ``millicent package`` for python3.12 x86_64 from ``--wheel-dir``: zipped and
   unzipped bytes.

    python experiments/onnx_vs_numpy.py [--artifact millicent/artifacts/kim-sst1-static] [--data-dir ../shared/data]
        [--rounds 5] [--cold 5] [--warm 20] [--wheel-dir .cache/wheels] [--out runs/onnx_vs_numpy.json]

Needs the train extra (torch, for the export) and the onnx extra.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for numpy's BLAS, before numpy is imported

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.economics.stats import latency_stats  # noqa: E402
from millicent.runtime.artifact import load_artifact, vectors_source  # noqa: E402
from millicent.runtime.registry import load_model  # noqa: E402
from millicent.runtime.roles import Classifier  # noqa: E402


def export_onnx(artifact_dir: Path, work: Path, data_dir: Path) -> Path:
    """The artifact's Kim CNN as an ONNX artifact (exported, then imported by millicent)."""
    import torch

    from millicent.importer.onnx import ImportOptions, import_onnx
    from millicent.torch_models.rebuild import torch_model_from_artifact

    artifact = load_artifact(artifact_dir)
    kim = torch_model_from_artifact(artifact)

    class Embedded(torch.nn.Module):
        """Kim CNN from the embedded input (B, T, dim) and the lengths (B,)."""

        def __init__(self) -> None:
            super().__init__()
            self.kim = kim

        def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            return self.kim.forward_embedded(emb, lengths)

    graph = work / "kim.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Embedded().eval(), (torch.zeros(2, 7, artifact.dim), torch.tensor([7, 4])),
                          str(graph), input_names=["emb", "lengths"], output_names=["logits"],
                          dynamic_axes={"emb": {0: "batch", 1: "tokens"}, "lengths": {0: "batch"},
                                        "logits": {0: "batch"}}, dynamo=False)
    m = artifact.manifest
    out = work / f"{artifact_dir.name}-onnx"
    import_onnx(ImportOptions(model=graph, role="classify", out=out, labels=m.labels,
                              vectors=m.embedding.source, tokenizer=m.tokenizer.name,
                              lowercase=m.tokenizer.lowercase, name=f"{m.name or artifact_dir.name}-onnx",
                              task=m.task, force=True, data_dir=data_dir))
    return out


def _dev_inputs(model: Classifier, data_dir: Path) -> list[np.ndarray]:
    from millicent.data.sst import load_sst
    from millicent.train.evaluate import memory_embeddings

    encs = [model.encode(e.text) for e in load_sst(data_dir, task=model.task, split="dev")]
    store = memory_embeddings(model, data_dir, [t for enc in encs for t in enc.tokens])
    return [store.lookup(enc.keys).matrix for enc in encs]


def forward(models: dict[str, Classifier], embs: list[np.ndarray], rounds: int) -> dict[str, Any]:
    """Per-sentence forward ms of each engine (rounds alternate), and their largest difference."""
    times: dict[str, list[float]] = {name: [] for name in models}
    clock = time.perf_counter
    for m in models.values():  # warm-up, discarded
        for e in embs:
            m.predict(e)
    for _ in range(rounds):
        for name, m in models.items():
            for e in embs:
                t0 = clock()
                m.predict(e)
                times[name].append((clock() - t0) * 1000.0)
    a, b = (np.stack([m.predict_batch([e])[0] for e in embs]) for m in models.values())
    out: dict[str, Any] = {name: latency_stats(t).to_dict() for name, t in times.items()}
    out["max_abs_diff"] = float(np.abs(a - b).max())
    out["inputs"] = len(embs)
    return out


def _store(model: Classifier, data_dir: Path, work: Path) -> str:
    """A SQLite store of the model's vectors for its dev sentences."""
    from millicent.data.sst import load_sst
    from millicent.data.tables import load_table
    from millicent.store import open_store
    from millicent.store.loader import load_store

    tokens = {t for e in load_sst(data_dir, task=model.task, split="dev") for t in model.tokenize(e.text)}
    table = load_table(vectors_source(model.artifact.path, model.manifest), data_dir, vocab=tokens,
                       tokenizer=model.tokenizer)
    url = f"sqlite:///{work / 'vectors.db'}"
    with open_store(url) as store:
        load_store(store, list(table.words), table.matrix, source="bench", progress=False)
    return url


async def _one_environment(name: str, artifact: Path, store_url: str, warm: int,
                           payload: bytes) -> dict[str, Any]:
    from millicent.platform.functions import FunctionSpec, PlatformSettings
    from millicent.platform.platform import Platform

    env = {config.MODELS: f"{name}={artifact}", config.STORE_URL: store_url}
    platform = Platform([FunctionSpec(name, environment=env, role="classify")],
                        PlatformSettings(max_concurrency=1))
    await platform.start()
    try:
        records = []
        for _ in range(1 + warm):
            result = await platform.invoke(name, payload)
            if result.function_error:
                raise RuntimeError(f"{name}: {result.payload[:300]!r}")
            records.append(result.record)
    finally:
        await platform.stop()
    first = records[0]
    if not first.cold or first.init_ms is None:
        raise RuntimeError(f"{name}: the first invocation was not a cold start")
    return {"init_ms": first.init_ms, "first_ms": first.duration_ms,
            "warm_ms": statistics.median(r.duration_ms for r in records[1:]),
            "max_memory_mb": max(r.max_memory_mb or 0.0 for r in records)}


def cold_starts(artifacts: dict[str, Path], store_url: str, n: int, warm: int) -> dict[str, Any]:
    """Init Duration, first / warm Duration and peak memory of ``n`` fresh environments each."""
    payload = json.dumps({"sentence": "It's a charming, often affecting journey."}).encode()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in artifacts}
    for _ in range(n):
        for name, path in artifacts.items():  # alternate, so drift hits both alike
            runs[name].append(asyncio.run(_one_environment(name, path, store_url, warm, payload)))
    return {name: {key: latency_stats([r[key] for r in rs]).to_dict() for key in rs[0]}
            for name, rs in runs.items()}


def package_sizes(artifacts: dict[str, Path], wheel_dir: Path | None, work: Path) -> dict[str, Any]:
    from millicent.deploy.package import PackageSpec, build_package
    from millicent.deploy.target import LambdaTarget

    out = {}
    for name, path in artifacts.items():
        built = build_package(PackageSpec(models=((name, path),), out_dir=work / f"dist-{name}",
                                          target=LambdaTarget("3.12"), wheel_dir=wheel_dir))
        out[name] = {"zipped_bytes": built.sizes.zipped, "unzipped_bytes": built.sizes.unzipped,
                     "components": {c.name: c.unzipped for c in built.sizes.components.values()}}
    return out


def _table(result: dict[str, Any]) -> str:
    f, c, p = result["forward"], result["cold_start"], result["package"]
    rows = ["| engine | forward p50 / p99 (ms) | Init Duration p50 (ms) | first / warm Duration p50 (ms) "
            "| Max Memory Used p50 (MB) | package zipped / unzipped (MB) |", "|---|---|---|---|---|---|"]
    for name in ("numpy", "onnx"):
        rows.append(
            f"| {name} | {f[name]['p50']:.3f} / {f[name]['p99']:.3f} | {c[name]['init_ms']['p50']:.0f} | "
            f"{c[name]['first_ms']['p50']:.2f} / {c[name]['warm_ms']['p50']:.2f} | "
            f"{c[name]['max_memory_mb']['p50']:.1f} | {p[name]['zipped_bytes'] / 2**20:.1f} / "
            f"{p[name]['unzipped_bytes'] / 2**20:.1f} |")
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="millicent/artifacts/kim-sst1-static")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cold", type=int, default=5, help="fresh environments per engine")
    p.add_argument("--warm", type=int, default=20, help="warm invocations per environment")
    p.add_argument("--wheel-dir", default=os.environ.get("MILLICENT_WHEEL_DIR") or None)
    p.add_argument("--out", default="runs/onnx_vs_numpy.json")
    args = p.parse_args()
    data_dir = config.data_dir(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="onnx-vs-numpy-") as tmp:
        work = Path(tmp)
        artifacts = {"numpy": Path(args.artifact).resolve(),
                     "onnx": export_onnx(Path(args.artifact).resolve(), work, data_dir)}
        models = {name: load_model(path) for name, path in artifacts.items()}
        classifiers = {n: m for n, m in models.items() if isinstance(m, Classifier)}
        result: dict[str, Any] = {
            "artifact": str(args.artifact),
            "forward": forward(classifiers, _dev_inputs(classifiers["numpy"], data_dir), args.rounds),
            "cold_start": cold_starts(artifacts, _store(classifiers["numpy"], data_dir, work),
                                      args.cold, args.warm),
            "package": package_sizes(artifacts, Path(args.wheel_dir) if args.wheel_dir else None, work),
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(_table(result))
    print(f"\nmax |numpy - onnx| probability: {result['forward']['max_abs_diff']:.2e} over "
          f"{result['forward']['inputs']} sentences; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
