"""``millicent demo``: the end-to-end story, one step at a time.

Steps (each prints a header and adds its results to ``DIR/demo.json``):

1. ``artifact`` — the Kim CNN SST-1 artifact from ``artifacts/`` (trained if absent and
   torch is installed; a clear error otherwise);
2. ``vectors`` — an in-memory store of the vectors the manifest names;
3. ``classify`` — every SST-1 dev sentence through the runtime service (tokenize → lookup →
   numpy forward): accuracy and per-sentence latency p50 / p99.

Later steps (the SQLite store, the local serverless platform, the benchmark and the
cost model) plug in as further entries of :data:`STEPS`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent import config
from millicent.cli._common import add_data_dir
from millicent.errors import ArtifactError

DEMO_MODEL = "kim-sst1-static"


@dataclass
class DemoContext:
    """What the steps share: paths, the objects built so far, and the results to report."""

    data_dir: Path
    out: Path
    objects: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


def ensure_artifact(name: str, data_dir: Path, fallback_dir: Path) -> Path:
    """A shipped artifact: from ``artifacts/``, else ``fallback_dir``, else trained into it."""
    from millicent.train.shipped import artifacts_dir, train_argv

    for root in (artifacts_dir(), fallback_dir):
        if (root / name / "manifest.json").exists():
            return root / name
    try:
        import torch  # noqa: F401  - only to know whether training is possible here
    except ModuleNotFoundError as exc:
        raise ArtifactError(
            f"artifact {name} is missing from {artifacts_dir()} and torch is not installed to "
            "train it: pip install 'millicent[train]' (or restore artifacts/ from git)"
        ) from exc
    from millicent.cli.main import main

    target = fallback_dir / name
    argv = train_argv(name, data_dir, target)
    print(f"artifact {name} not found: millicent {' '.join(argv)}")
    rc = main(argv)
    if rc != 0:
        raise ArtifactError(f"training {name} failed (exit {rc})")
    return target


def step_artifact(ctx: DemoContext) -> None:
    from millicent.runtime.model import Classifier, load_model

    path = ensure_artifact(DEMO_MODEL, ctx.data_dir, ctx.out / "artifacts")
    t0 = time.perf_counter()
    model = load_model(path)
    load_ms = (time.perf_counter() - t0) * 1000
    if not isinstance(model, Classifier):
        raise ArtifactError(f"{path} is not a classifier")
    ctx.objects["model"] = model
    recorded = model.manifest.get("metrics", {})
    print(f"{path}: {model.kind} {model.task}, {model.dim}-d, labels {model.labels}")
    print(f"loaded in {load_ms:.1f} ms; recorded metrics {json.dumps(recorded)}")
    ctx.results["artifact"] = {"path": str(path), "load_ms": load_ms, "recorded": recorded}


def step_vectors(ctx: DemoContext) -> None:
    from millicent.data.sst import load_sst
    from millicent.runtime.tokenize import tokenize
    from millicent.train.evaluate import memory_embeddings

    model = ctx.objects["model"]
    examples = load_sst(ctx.data_dir, task=model.task, split="dev")
    t0 = time.perf_counter()
    words = [t for e in examples for t in tokenize(e.text)]
    store = memory_embeddings(model, ctx.data_dir, words)
    seconds = time.perf_counter() - t0
    ctx.objects.update(store=store, examples=examples)
    source = model.manifest["embedding"]["source"]
    print(f"memory store of {source} vectors for the dev vocabulary: {store.count()} words "
          f"× {store.dim} in {seconds:.1f} s")
    ctx.results["vectors"] = {"source": source, "words": store.count(), "seconds": seconds}


def step_classify(ctx: DemoContext) -> None:
    from millicent.bench.stats import latency_stats
    from millicent.runtime.service import classify

    model, store, examples = (ctx.objects[k] for k in ("model", "store", "examples"))
    limits = config.Limits()
    classify(model, store, examples[0].text, limits)  # warm-up, not timed
    latencies, correct, unknown = [], 0, 0
    for e in examples:
        t0 = time.perf_counter()
        out = classify(model, store, e.text, limits)
        latencies.append((time.perf_counter() - t0) * 1000)
        correct += out["label_index"] == e.label
        unknown += len(out["unknown_words"])
    stats = latency_stats(latencies)
    acc = correct / len(examples)
    print(f"SST-1 dev through the service: accuracy {acc:.4f} on {len(examples)} sentences "
          f"({unknown} unknown words)")
    print(f"per-sentence latency (tokenize + lookup + forward): p50 {stats.p50:.3f} ms, "
          f"p99 {stats.p99:.3f} ms, mean {stats.mean:.3f} ms")
    ctx.results["classify"] = {"accuracy": acc, "n": len(examples), "latency_ms": stats.to_dict()}


#: The demo's steps, in order; later steps read what earlier ones put in ``ctx.objects``.
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("artifact", step_artifact),
    ("vectors", step_vectors),
    ("classify", step_classify),
]


def run_demo(args: argparse.Namespace) -> int:
    ctx = DemoContext(data_dir=config.data_dir(args.data_dir), out=Path(args.out))
    ctx.out.mkdir(parents=True, exist_ok=True)
    for i, (name, step) in enumerate(STEPS, 1):
        print(f"== step {i}/{len(STEPS)}: {name}")
        step(ctx)
    report = ctx.out / "demo.json"
    report.write_text(json.dumps(ctx.results, indent=2) + "\n", encoding="utf-8")
    print(f"== results: {report}")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``demo`` verb."""
    p = subparsers.add_parser("demo", help="run the end-to-end demo (no torch needed)")
    add_data_dir(p)
    p.add_argument("--out", default="runs/demo", help="where results go (default runs/demo)")
    p.set_defaults(func=run_demo)
