"""A bi-encoder answer ranker on TrecQA, trained with PyTorch, served by millicent.

A pair model millicent did not write: a GRU reads the question, another the answer, each
max-pooled over its real words only (its true length is an input), and the score is the
bilinear form q·W·a + b — one relevance logit per pair, shape [batch]. Because the graph
takes the lengths, millicent may feed it zero-padded batches of answers (and does): a
forward GRU's states before the padding do not depend on it, and the pooling skips it.

The run: train briefly on TrecQA ``train`` (one thread), keep the best raw-dev MAP,
``torch.onnx.export`` with dynamic axes (each text its own token axis), ``millicent import
onnx --role rank``, ``millicent eval`` (MAP / MRR through the runtime), then ``millicent
serve`` on the local platform and a question's answers compared with PyTorch.

    python examples/trecqa_biencoder.py --data-dir ../shared/data --out runs/trecqa-biencoder [--epochs 6]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import TOKENIZER, BestEpoch, Vectors, arguments, cli, on_platform
from torch import nn


class Encoder(nn.Module):
    """(B, T, dim) vectors + (B,) lengths → (B, hidden): GRU, max over the real positions."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(dim, hidden, batch_first=True)

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(emb)
        padded = torch.arange(states.shape[1])[None, :] >= lengths[:, None]  # (B, T)
        return states.masked_fill(padded[:, :, None], float("-inf")).max(dim=1).values


class BiEncoder(nn.Module):
    """score(q, a) = enc_q(q) · W · enc_a(a) + b, a relevance logit per pair."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.3) -> None:
        super().__init__()
        self.question, self.answer = Encoder(dim, hidden), Encoder(dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.weight = nn.Parameter(torch.eye(hidden) * 0.1)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, question: torch.Tensor, answer: torch.Tensor, q_len: torch.Tensor,
                a_len: torch.Tensor) -> torch.Tensor:
        q = self.dropout(self.question(question, q_len))
        a = self.dropout(self.answer(answer, a_len))
        return ((q @ self.weight) * a).sum(dim=1) + self.bias  # (B,)


def padded(embs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = [len(e) for e in embs]
    out = np.zeros((len(embs), max(lengths), embs[0].shape[1]), dtype=np.float32)
    for i, e in enumerate(embs):
        out[i, : len(e)] = e
    return torch.from_numpy(out), torch.tensor(lengths)


def scores(model: nn.Module, data: dict[str, Any], batch: int = 256) -> np.ndarray:
    model.eval()
    out = np.zeros(len(data["labels"]), dtype=np.float64)
    with torch.no_grad():
        for lo in range(0, len(out), batch):
            q, ql = padded(data["q"][lo : lo + batch])
            a, al = padded(data["a"][lo : lo + batch])
            out[lo : lo + batch] = model(q, a, ql, al).numpy()
    return out


def mean_ap(data: dict[str, Any], s: np.ndarray) -> dict[str, float]:
    """MAP and MRR as millicent computes them (pessimistic ties)."""
    from millicent.train.metrics import map_mrr

    m = map_mrr(data["qids"], s, data["labels"])
    return {"map": float(m["map"]), "mrr": float(m["mrr"])}


def train(args: argparse.Namespace, splits: dict[str, dict[str, Any]], dim: int) -> tuple[
        nn.Module, list[dict[str, float]]]:
    torch.manual_seed(args.seed)
    model = BiEncoder(dim, args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    data, rng = splits["train"], random.Random(args.seed)
    order = list(range(len(data["labels"])))
    best = BestEpoch()
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        rng.shuffle(order)
        for lo in range(0, len(order), args.batch_size):
            ix = order[lo : lo + args.batch_size]
            q, ql = padded([data["q"][i] for i in ix])
            a, al = padded([data["a"][i] for i in ix])
            y = torch.tensor([float(data["labels"][i]) for i in ix])
            loss = nn.functional.binary_cross_entropy_with_logits(model(q, a, ql, al), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        dev = mean_ap(splits["raw-dev"], scores(model, splits["raw-dev"]))
        history.append({"epoch": epoch, "dev_map": dev["map"], "dev_mrr": dev["mrr"],
                        "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch}: raw-dev MAP {dev['map']:.3f} MRR {dev['mrr']:.3f} "
              f"({history[-1]['seconds']:.0f} s)", flush=True)
        best.keep(dev["map"], model)
    return best.restore(model), history


def main() -> int:
    from millicent.data.trecqa import load_trecqa
    tokenize = TOKENIZER.tokenize

    args = arguments(__doc__ or "", epochs=6, batch_size=64, lr=1e-3)
    torch.set_num_threads(1)
    data_dir, out = Path(args.data_dir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    raw = {s: load_trecqa(data_dir, s) for s in ("train", "raw-dev", "raw-test")}
    toks = {s: [(tokenize(x.question), tokenize(x.answer)) for x in pairs] for s, pairs in raw.items()}
    vectors = Vectors((t for ps in toks.values() for q, a in ps for t in (*q, *a)), data_dir)
    splits: dict[str, dict[str, Any]] = {s: {"q": [vectors.embed(q) for q, _ in toks[s]], "a": [vectors.embed(a) for _, a in toks[s]],
                  "labels": [x.label for x in raw[s]], "qids": [x.qid for x in raw[s]]} for s in raw}
    t0 = time.perf_counter()
    model, history = train(args, splits, vectors.dim)
    seconds = time.perf_counter() - t0

    graph = out / "trecqa_biencoder.onnx"
    example = (torch.zeros(2, 6, vectors.dim), torch.zeros(2, 9, vectors.dim), torch.tensor([6, 3]),
               torch.tensor([9, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, str(graph), dynamo=False,
                          input_names=["question", "answer", "q_len", "a_len"], output_names=["score"],
                          dynamic_axes={"question": {0: "batch", 1: "q_tokens"},
                                        "answer": {0: "batch", 1: "a_tokens"},
                                        "q_len": {0: "batch"}, "a_len": {0: "batch"},
                                        "score": {0: "batch"}})
    artifact = out / "artifact"
    cli("import", "onnx", str(graph), "--role", "rank", "--vectors", "glove-50", "--task", "trecqa",
        "--name", "trecqa-biencoder", "--out", str(artifact), "--force", "--data-dir", str(data_dir))
    served = {s: json.loads(cli("eval", str(artifact), "--split", s, "--data-dir", str(data_dir)))
              for s in ("dev", "test")}
    in_torch = {s: mean_ap(splits[s], scores(model, splits[s])) for s in ("raw-dev", "raw-test")}

    first = raw["raw-dev"][0].qid
    ix = [i for i, x in enumerate(raw["raw-dev"]) if x.qid == first]
    body: dict[str, Any] = {"question": raw["raw-dev"][ix[0]].question,
                            "answers": [raw["raw-dev"][i].answer for i in ix]}
    (answer,) = on_platform("qa", artifact, out, data_dir, [body])
    want = scores(model, {k: [v[i] for i in ix] for k, v in splits["raw-dev"].items()})
    report = {"train_seconds": round(seconds, 1), "history": history,
              "runtime": {s: {"map": served[s]["map"], "mrr": served[s]["mrr"]} for s in served},
              "torch": {s: {"map": m["map"], "mrr": m["mrr"]} for s, m in in_torch.items()},
              "platform_max_abs_diff": float(np.abs(np.array(answer["scores"]) - want).max()),
              "artifact": str(artifact)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
