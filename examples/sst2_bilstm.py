"""A BiLSTM sentence classifier on SST-2, trained with PyTorch, served by millicent.

A network millicent did not write: a bidirectional LSTM over GloVe-50 vectors, max over
time, dropout, two logits. It reads a text's vectors and nothing else — no lengths input —
so millicent feeds it only unpadded texts (texts of equal length together); it is trained
the same way, on batches of sentences of exactly one length, so it never sees a padded row.

The run: train briefly (one thread), keep the best dev epoch, ``torch.onnx.export`` with
dynamic batch and token axes, ``millicent import onnx``, ``millicent eval`` (the runtime
path: tokenize → vectors → onnxruntime), then ``millicent serve`` on the local platform and
a few requests compared with PyTorch.

    python examples/sst2_bilstm.py --data-dir ../shared/data --out runs/sst2-bilstm [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from common import TOKENIZER, BestEpoch, Vectors, arguments, cli, on_platform
from torch import nn

LABELS = ["negative", "positive"]


class BiLSTMClassifier(nn.Module):
    """Embedded text (B, T, dim) → BiLSTM → max over time → dropout → logits (B, 2)."""

    def __init__(self, dim: int, hidden: int, n_labels: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.rnn = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, n_labels)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(emb)  # (B, T, 2 * hidden)
        return self.out(self.dropout(states.max(dim=1).values))


def same_length_batches(lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of indices whose texts all have one length (no padding anywhere)."""
    buckets: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        buckets.setdefault(n, []).append(i)
    batches = []
    for ix in buckets.values():
        rng.shuffle(ix)
        batches += [ix[j : j + size] for j in range(0, len(ix), size)]
    rng.shuffle(batches)
    return batches


def predict(model: nn.Module, embs: list[np.ndarray]) -> np.ndarray:
    """Probabilities of every text, equal-length texts batched together."""
    model.eval()
    out = np.zeros((len(embs), len(LABELS)), dtype=np.float32)
    with torch.no_grad():
        for ix in same_length_batches([len(e) for e in embs], 256, random.Random(0)):
            x = torch.from_numpy(np.stack([embs[i] for i in ix]))
            out[ix] = torch.softmax(model(x), dim=1).numpy()
    return out


def train(args: argparse.Namespace, splits: dict[str, tuple[list[np.ndarray], np.ndarray]],
          dim: int) -> tuple[nn.Module, list[dict[str, float]]]:
    torch.manual_seed(args.seed)
    model = BiLSTMClassifier(dim, args.hidden, len(LABELS))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    embs, labels = splits["train"]
    rng, history = random.Random(args.seed), []
    best = BestEpoch()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        for ix in same_length_batches([len(e) for e in embs], args.batch_size, rng):
            x = torch.from_numpy(np.stack([embs[i] for i in ix]))
            loss = nn.functional.cross_entropy(model(x), torch.from_numpy(labels[ix]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        dev = float((predict(model, splits["dev"][0]).argmax(1) == splits["dev"][1]).mean())
        history.append({"epoch": epoch, "dev_accuracy": dev, "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch}: dev accuracy {dev:.3f} ({history[-1]['seconds']:.0f} s)", flush=True)
        best.keep(dev, model)
    return best.restore(model), history


def main() -> int:
    from millicent.data.sst import load_sst
    tokenize = TOKENIZER.tokenize

    args = arguments(__doc__ or "", epochs=10, batch_size=25, lr=2e-3)
    torch.set_num_threads(1)
    data_dir, out = Path(args.data_dir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    raw = {s: load_sst(data_dir, task="sst-2", split=s) for s in ("train", "dev", "test")}
    tokens = {s: [tokenize(e.text) for e in ex] for s, ex in raw.items()}
    vectors = Vectors((t for ts in tokens.values() for x in ts for t in x), data_dir)
    splits = {s: ([vectors.embed(x) for x in tokens[s]], np.array([e.label for e in raw[s]]))
              for s in raw}
    t0 = time.perf_counter()
    model, history = train(args, splits, vectors.dim)
    seconds = time.perf_counter() - t0

    graph = out / "sst2_bilstm.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(2, 5, vectors.dim),), str(graph),
                          input_names=["emb"], output_names=["logits"], dynamo=False,
                          dynamic_axes={"emb": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}})
    artifact = out / "artifact"
    cli("import", "onnx", str(graph), "--role", "classify", "--labels", ",".join(LABELS),
        "--vectors", "glove-50", "--task", "sst-2", "--name", "sst2-bilstm", "--out",
        str(artifact), "--force", "--data-dir", str(data_dir))
    served = {s: json.loads(cli("eval", str(artifact), "--split", s, "--data-dir", str(data_dir)))
              for s in ("dev", "test")}
    torch_acc = {s: float((predict(model, splits[s][0]).argmax(1) == splits[s][1]).mean())
                 for s in ("dev", "test")}

    texts = [e.text for e in raw["dev"][:8]]
    answers = on_platform("bilstm", artifact, out, data_dir, [{"sentences": texts}])
    want = predict(model, splits["dev"][0][:8])
    got = np.array([r["probabilities"] for r in answers[0]["results"]])
    report = {"train_seconds": round(seconds, 1), "history": history,
              "runtime": {s: served[s]["accuracy"] for s in served}, "torch": torch_acc,
              "platform_max_abs_diff": float(np.abs(got - want).max()),
              "artifact": str(artifact)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
