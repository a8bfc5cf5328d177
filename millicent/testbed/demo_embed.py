"""The demo's embedding function (:mod:`millicent.testbed.demo`'s steps ``openai`` and the
end of ``benchmark``): answered through the ``openai`` client, benchmarked as the CNNs are,
and its cost per million texts set beside theirs and the hosted embedding APIs'.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from millicent.errors import DataError, missing_extra

if TYPE_CHECKING:
    from millicent.economics.cost import Cost
    from millicent.economics.prices import ApiPrice
    from millicent.harness.rows import ResultRow
    from millicent.harness.scenario import Configuration
    from millicent.testbed.demo import DemoContext

#: the embedding model the demo serves (function name, artifact name): the one name to switch
#: (an artifact shipped under ``artifacts/``, or one ``demo.MADE_HERE`` knows how to make).
#: all-MiniLM-L6-v2, int8 (``millicent import hf``): its token table — the base model's
#: safetensors in the data directory, read with numpy and checked by digest — gets its own
#: SQLite store and pack, and its own platform (one ``serve`` reads one table).
DEMO_EMBEDDER = ("emb", "minilm-embed")
#: the embedder's pack: its most frequent tokens (the post-processor's [CLS] and [SEP] first)
EMBED_PACK_TOP = 5000
#: the embedder's memory size: all-MiniLM-L6-v2 int8 with its pack peaks past 128 MB on one
#: text, and onnxruntime's arena grows with a batch of 64 (docs/transformers.md: ≈ 300 MB at
#: batch 32); its cost is priced at this size
EMBED_MEMORY_MB = 512
#: texts the ``openai`` step embeds through the OpenAI API
OPENAI_TEXTS = 16
#: texts per request of the embedding function's batched run
BATCH = 64


def embed_store(ctx: DemoContext) -> None:
    """The embedding model's token table in its own SQLite store (``OUT/tokens-*.db``),
    loaded once and verified on every run: the rows read with numpy from the data
    directory's copy of the base model, found by the table's digest (no torch)."""
    from millicent.data.token_table import token_table
    from millicent.runtime.artifact import vectors_source
    from millicent.testbed.prepare import ensure_store

    fn = DEMO_EMBEDDER[0]
    source = vectors_source(ctx.built.paths[fn])
    vectors = token_table(source, ctx.options.data_dir, by_frequency=True)
    url = f"sqlite:///{(ctx.options.out / f'{source.slug}.db').resolve()}"
    ctx.say(f"{fn}: {len(vectors.words):,} rows of {source.label} → {url}", flush=True)
    st = ensure_store(url, vectors.words, vectors.matrix, source=source.label,
                      progress=ctx.options.progress)
    ctx.say("complete already: every row read back and verified" if st.reused else
            f"loaded {st.written:,} rows, every one read back and verified",
            f"({st.count:,} in the store, {st.seconds:.1f} s)")
    ctx.built.stores[fn] = url
    ctx.built.embed_vectors = (source.label, vectors)
    ctx.results["embed_store"] = {**st.to_dict(), "vectors": source.label}


def embed_pack(ctx: DemoContext) -> None:
    """The embedder's pack: its :data:`EMBED_PACK_TOP` most frequent tokens."""
    from millicent.testbed.prepare import ensure_pack

    fn = DEMO_EMBEDDER[0]
    (label, vectors), ctx.built.embed_vectors = ctx.built.embed_vectors, None
    path = ctx.options.out / f"pack-{label.replace(':', '-')}-{EMBED_PACK_TOP}.bin"
    st = ensure_pack(path, vectors.words, vectors.matrix, top=EMBED_PACK_TOP, source=label,
                     by="wordfreq")
    ctx.say(f"{fn}: {st.words:,} most frequent tokens, {st.bytes / 2**20:.1f} MB → {path}"
            + (" (complete already)" if st.reused else ""))
    ctx.built.packs[fn] = path
    ctx.results["embed_pack"] = st.to_dict()


def step_openai(ctx: DemoContext) -> None:
    """The embedding function through the ``openai`` client: its vectors equal the function's
    own answers (``POST /{name}``, in-process in step ``check``) bit for bit."""
    try:
        from openai import OpenAI
    except ModuleNotFoundError as exc:
        raise missing_extra("openai", "demo") from exc

    fn = DEMO_EMBEDDER[0]
    requests = ctx.built.workloads[fn].requests[:OPENAI_TEXTS]
    texts = [json.loads(r.body)["sentence"] for r in requests]
    endpoint = ctx.built.endpoints[fn]
    client = OpenAI(base_url=f"{endpoint}/v1", api_key="demo", max_retries=0)
    ctx.say(f"OpenAI(base_url=\"{endpoint}/v1\").embeddings.create(model=\"{fn}\", "
            f"input=[{len(texts)} SST-1 dev sentences])", flush=True)
    reply = client.embeddings.create(model=fn, input=texts)
    want = _own_answers(endpoint, fn, texts)
    same = sum(d.embedding == w for d, w in zip(reply.data, want, strict=True))
    ctx.say(f"{len(reply.data)} vectors of {len(reply.data[0].embedding)} floats (asked as base64, "
            f"decoded by the client), {same} equal the function's own answers to the same "
            f"batch (POST /{fn}) bit for bit; "
            f"usage {reply.usage.prompt_tokens} tokens; models: "
            f"{', '.join(m.id for m in client.models.list().data)}")
    if same != len(want):
        raise DataError(f"{fn}: {len(want) - same} vectors through the OpenAI API differ from the "
                        "function's own answers")
    ctx.results["openai"] = {"model": fn, "texts": len(texts), "same": same,
                             "prompt_tokens": reply.usage.prompt_tokens,
                             "dim": len(reply.data[0].embedding)}


def _own_answers(endpoint: str, fn: str, texts: list[str]) -> list[list[float]]:
    """The function's own answer (``POST /{fn}``) to ``texts`` as one batch: an int8
    model's vectors depend on what else is in the batch (activations are scaled per batch),
    so the OpenAI API's answer is compared with the same batch's."""
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/{fn}", method="POST",
                                     data=json.dumps({"sentences": texts}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = json.loads(answer.read())
    return [r["embedding"] for r in body["results"]]


def bench_embedder(ctx: DemoContext, conf: Configuration, cnn_rows: list[ResultRow]) -> None:
    """The embedding function benchmarked as the CNNs were (its own run), and its cost per
    million texts beside theirs and the hosted embedding APIs' at its tokens per text."""
    from millicent.economics.prices import load_prices
    from millicent.harness.runner import Reporting, plan_scenarios, run_benchmark
    from millicent.harness.workload import load_workload

    fn = DEMO_EMBEDDER[0]
    conf = replace(conf, memory_mb=EMBED_MEMORY_MB)
    workload = ctx.built.workloads[fn]
    out_dir = ctx.options.out / "bench-embed"
    prices = load_prices()
    quiet = Reporting(progress=ctx.options.progress, plots=False, out=io.StringIO())
    levels = list(ctx.options.concurrency)
    endpoint = ctx.built.endpoints[fn]
    run = run_benchmark(endpoint, plan_scenarios(conf, workload, levels), {fn: workload},
                        out_dir, prices, reporting=quiet)
    # the same texts in batches of BATCH: one request fee for many texts
    batched = load_workload(fn, ctx.options.data_dir, fn, ctx.options.limit, BATCH, workload.spec)
    batch_run = run_benchmark(endpoint, plan_scenarios(conf, batched, levels[:1]),
                              {fn: batched}, out_dir / f"batch-{BATCH}", prices, reporting=quiet)
    ctx.say(f"\nCost per million texts (the CNNs at 128 MB, {fn} at {EMBED_MEMORY_MB} MB; Function "
            "URL, vectors bundled; as measured here / projected to Lambda's CPU share at that "
            "size):")
    rows = [_text_line(ctx, r, prices.embedding_apis)
            for r in [*cnn_rows, *run.rows, *batch_run.rows]]
    ctx.say(f"embedding results: {out_dir / 'report.md'}")
    ctx.results["embedder"] = {"out": str(out_dir), "rows": rows}
    errors = sum(r.errors for r in [*run.rows, *batch_run.rows])
    if errors:
        raise DataError(f"the embedding benchmark saw {errors} failed requests; see {out_dir}/records")


def _text_line(ctx: DemoContext, row: ResultRow,
               apis: tuple[ApiPrice, ...]) -> dict[str, Any]:
    """Say one row's cost per million texts (an embedding row's also per million tokens and
    beside text-embedding-3-small at its tokens per text); the figures for ``demo.json``."""
    from millicent.economics.apis import TextCost, compare

    pt = row.per_text
    measured = pt.cost_per_million_texts if pt else None
    projected = pt.lambda_projection_per_million_texts if pt else None
    tokens = pt.tokens_per_text if pt else None
    batch = f" batches of {pt.batch_size}" if pt is not None and pt.batch_size > 1 else ""
    line = f"  {row.model}{batch} C={row.concurrency}: {_usd(measured)} / {_usd(projected)}"
    cost = projected or measured
    if pt is not None and pt.embeddings and cost is not None and cost.total > 0 and tokens:
        rivals = compare(TextCost(cost.total, tokens), apis)
        rival = next((c for c in rivals if c.api.name.endswith("text-embedding-3-small")), rivals[0])
        line += (f"; {_usd(cost.scaled(1 / tokens))} per million tokens at {tokens:.1f} tokens a "
                 f"text; {rival.api.name} costs ${rival.per_million_texts:.4f} at the same tokens "
                 f"per text: {rival.times:.1f}× millicent's")
    ctx.say(line)
    return {"model": row.model, "concurrency": row.concurrency, "errors": row.errors,
            "batch_size": pt.batch_size if pt is not None else 1,
            "usd_per_million_texts": None if measured is None else measured.total,
            "lambda_usd_per_million_texts": None if projected is None else projected.total,
            "tokens_per_text": tokens}


def _usd(cost: Cost | None) -> str:
    return "–" if cost is None else f"${cost.total:.4f}"
