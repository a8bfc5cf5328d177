"""Train an SM CNN on TrecQA (``train`` split) and export the runtime artifact.

Static word vectors. Dev = raw-dev (best epoch by MAP), test = raw-test, and clean-test
is reported beside raw-test (raw-test MAP is inflated by questions whose answers are all
positive). With ``features="overlap"`` the four word-overlap features (IDF from the
training sentences, standardised with training statistics) join the network; they are
computed from tokens by ``millicent.runtime.features`` in training and serving alike.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from millicent.data.trecqa import load_trecqa
from millicent.data.vectors import load_vectors
from millicent.errors import InvalidInput
from millicent.models.sm_cnn import SMCNN, SMCNNConfig
from millicent.runtime.features import N_FEATURES, OverlapFeatures, compute_idf
from millicent.runtime.registry import load_model
from millicent.runtime.tokenize import TOKENIZER_VERSION, tokenize
from millicent.store.memory import MemoryStore
from millicent.train.evaluate import evaluate_model
from millicent.train.export import export_model
from millicent.train.loop import default_threads, fit, pad_ids, seed_everything, training_record
from millicent.train.metrics import map_mrr
from millicent.train.table import WordTable

FEATURES = ("none", "overlap")
REPORTED_SPLITS = ("raw-dev", "raw-test", "clean-dev", "clean-test")


@dataclass
class SMOptions:
    """Everything that determines an SM CNN training run (recorded in the manifest)."""

    out: str
    vectors: str = "glove-50"
    features: str = "none"
    epochs: int = 12
    seed: int = 1
    batch_size: int = 64
    lr: float = 1e-3  # Adam
    weight_decay: float = 1e-5
    ema: float = 0.0  # > 0: export an exponential moving average of the weights
    threads: int = 0

    def check(self) -> None:
        if self.features not in FEATURES:
            raise InvalidInput(f"--features must be one of {FEATURES}, got {self.features!r}")
        if self.epochs < 1:
            raise InvalidInput("--epochs must be at least 1")


class _Split:
    """One split as token-index tensors' inputs (and raw tokens for the features)."""

    def __init__(self, name: str, data_dir: Path | None) -> None:
        self.name = name
        self.pairs = load_trecqa(data_dir, name)
        self.q_tokens = [tokenize(p.question) for p in self.pairs]
        self.a_tokens = [tokenize(p.answer) for p in self.pairs]
        self.labels = np.array([p.label for p in self.pairs], dtype=np.int64)
        self.qids = [p.qid for p in self.pairs]
        self.feats: np.ndarray | None = None

    def index(self, table: WordTable) -> None:
        self.q_ids = [table.ids(t) for t in self.q_tokens]
        self.a_ids = [table.ids(t) for t in self.a_tokens]


def train_sm(opts: SMOptions, data_dir: Path | None, command: str) -> dict[str, Any]:
    """Train, keep the best raw-dev MAP epoch, export to ``opts.out``; returns the manifest."""
    opts.check()
    t_start = time.perf_counter()
    threads = opts.threads or default_threads()
    rng = seed_everything(opts.seed, threads)
    train, dev = _Split("train", data_dir), _Split("raw-dev", data_dir)
    all_tokens = {t for s in (train, dev) for ts in s.q_tokens + s.a_tokens for t in ts}
    # the test splits' words too, so the exported evaluation needs no second vector load
    tests = {name: _Split(name, data_dir) for name in ("raw-test", "clean-dev", "clean-test")}
    all_tokens |= {t for s in tests.values() for ts in s.q_tokens + s.a_tokens for t in ts}
    vectors = load_vectors(opts.vectors, data_dir=data_dir, vocab=all_tokens)
    table = WordTable.from_vectors(vectors.words, vectors.matrix)
    for s in (train, dev):
        s.index(table)
    print(f"{len(train.pairs)} train / {len(dev.pairs)} raw-dev pairs; {len(table.keys)} words "
          f"× {table.dim}")

    features: OverlapFeatures | None = None
    idf_table = None
    if opts.features == "overlap":
        # IDF over the training split's distinct sentences (questions and answers)
        sentences = {" ".join(t): t for t in train.q_tokens + train.a_tokens}
        words, idf, unseen = compute_idf(sentences.values())
        idf_table = (words, idf)
        features = OverlapFeatures(dict(zip(words, idf.tolist(), strict=True)), unseen)
        raw = np.stack([features.raw(q, a) for q, a in zip(train.q_tokens, train.a_tokens, strict=True)])
        features.fit_scaler(raw)
        for s in (train, dev):
            s.feats = np.stack([features(q, a) for q, a in zip(s.q_tokens, s.a_tokens, strict=True)])

    config = SMCNNConfig(dim=table.dim, n_features=N_FEATURES if features else 0)
    model = SMCNN(config, len(table.keys))
    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(table.weight()))
    loss_fn = nn.CrossEntropyLoss()
    y_train = torch.from_numpy(train.labels)

    def forward(s: _Split, ix: np.ndarray) -> torch.Tensor:
        q, ql = pad_ids([s.q_ids[i] for i in ix])
        a, al = pad_ids([s.a_ids[i] for i in ix])
        f = torch.from_numpy(s.feats[ix]) if s.feats is not None else None
        return model(q, ql, a, al, f)

    def loss_on(ix: np.ndarray) -> torch.Tensor:
        return loss_fn(forward(train, ix), y_train[torch.from_numpy(ix)])

    def dev_map() -> float:
        margins = []
        for start in range(0, len(dev.pairs), 500):
            logits = forward(dev, np.arange(start, min(len(dev.pairs), start + 500)))
            margins.append((logits[:, 1] - logits[:, 0]).numpy())
        return float(map_mrr(dev.qids, np.concatenate(margins), dev.labels)["map"])

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=opts.lr, weight_decay=opts.weight_decay)
    result = fit(model, optimizer, len(train.pairs), opts.batch_size, opts.epochs, rng,
                 loss_on, dev_map, metric_name="dev_map", ema=opts.ema)
    train_seconds = time.perf_counter() - t_start

    manifest: dict[str, Any] = {
        "kind": "sm_cnn",
        "task": "trecqa",
        "config": asdict(config),
        "labels": ["irrelevant", "relevant"],
        "embedding": {
            "dim": table.dim,
            "dtype": "float32",
            "source": opts.vectors,
            "variant": "static",
            "words": len(table.keys),
        },
        "tokenizer": {"version": TOKENIZER_VERSION},
        "metrics": {},
        "training": training_record(
            command=command, seed=opts.seed, epochs=opts.epochs, result=result,
            metric="map", seconds=train_seconds, threads=threads,
            optimizer=f"adam lr={opts.lr} weight_decay={opts.weight_decay}, "
                      f"batch {opts.batch_size}" + (f", weight EMA {opts.ema}" if opts.ema else ""),
            dataset={
                "train": f"trecqa train ({len(train.pairs)} pairs)",
                "dev": "trecqa raw-dev",
                "test": "trecqa raw-test (clean-test beside it)",
            },
        ),
    }
    if features is not None:
        manifest["features"] = features.to_manifest()
    out = Path(opts.out)
    export_model(out, model, manifest, idf=idf_table)
    runtime = load_model(out)
    store = MemoryStore.from_vectors(list(table.keys), table.matrix, source=opts.vectors)
    for split in REPORTED_SPLITS:
        m = evaluate_model(runtime, split, data_dir, store)
        key = {"raw-dev": "dev", "raw-test": "test"}.get(split, split)
        manifest["metrics"][key] = {k: m[k] for k in ("map", "mrr", "n", "questions")}
    export_model(out, model, manifest, idf=idf_table)
    return manifest
