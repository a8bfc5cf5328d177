"""Train a Kim CNN on SST-1 / SST-2 and export the runtime artifact.

Variants: ``static`` (pretrained vectors, frozen), ``non-static`` (pretrained, fine-tuned;
the tuned table is exported for the store), ``rand`` (a table learned from scratch for
the training split's words, any dimension; exported likewise). Words without a vector
are the zero row, in training as in serving.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from millicent.data.sst import SST_LABELS, load_sst
from millicent.data.vectors import load_vectors
from millicent.errors import InvalidInput
from millicent.models.kim_cnn import VARIANTS, KimCNN, KimCNNConfig
from millicent.runtime.registry import load_model
from millicent.runtime.tokenize import TOKENIZER_VERSION, tokenize
from millicent.store.memory import MemoryStore
from millicent.train.evaluate import evaluate_model
from millicent.train.export import export_model
from millicent.train.loop import default_threads, fit, pad_ids, seed_everything, training_record
from millicent.train.table import WordTable

OPTIMIZERS = ("adadelta", "adam")


@dataclass
class KimOptions:
    """Everything that determines a Kim CNN training run (recorded in the manifest)."""

    out: str
    task: str = "sst-1"
    variant: str = "static"
    vectors: str = "glove-50"
    dim: int | None = None
    epochs: int = 20
    seed: int = 1
    batch_size: int = 50
    optimizer: str = "adam"  # or "adadelta" (lr 1.0) as in Kim (2014)
    lr: float = 3e-4
    max_norm: float = 3.0  # l2 constraint on the output weights, as in Kim (2014)
    ema: float = 0.99  # > 0: score and export an exponential moving average of the weights
    train_source: str = "stsa"  # "glue": SST-2 phrase-level GLUE train set
    threads: int = 0  # 0 → default_threads()

    def check(self) -> None:
        if self.task not in SST_LABELS:
            raise InvalidInput(f"--task must be one of {sorted(SST_LABELS)}, got {self.task!r}")
        if self.variant not in VARIANTS:
            raise InvalidInput(f"--variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.variant == "rand" and not self.dim:
            raise InvalidInput("--variant rand needs --dim N (e.g. 300)")
        if self.train_source == "glue" and self.task != "sst-2":
            raise InvalidInput("--train-source glue exists only for --task sst-2")
        if self.epochs < 1:
            raise InvalidInput("--epochs must be at least 1")
        if self.optimizer not in OPTIMIZERS:
            raise InvalidInput(f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")


def build_table(opts: KimOptions, data_dir: Path | None, train_tokens: list[list[str]],
                all_tokens: set[str]) -> WordTable:
    """The embedding table the variant starts from."""
    if opts.variant == "rand":
        assert opts.dim is not None  # checked in KimOptions.check
        return WordTable.random((t for ts in train_tokens for t in ts), opts.dim, opts.seed)
    vectors = load_vectors(opts.vectors, data_dir=data_dir, vocab=all_tokens)
    table = WordTable.from_vectors(vectors.words, vectors.matrix)
    if opts.dim and opts.dim != table.dim:
        raise InvalidInput(f"--dim {opts.dim} but {opts.vectors} holds {table.dim}-d vectors")
    return table


def train_kim(opts: KimOptions, data_dir: Path | None, command: str) -> dict[str, Any]:
    """Train, keep the best-dev epoch, export to ``opts.out``; returns the manifest."""
    opts.check()
    t_start = time.perf_counter()
    threads = opts.threads or default_threads()
    rng = seed_everything(opts.seed, threads)
    train = load_sst(data_dir, task=opts.task, split="train", source=opts.train_source)
    dev = load_sst(data_dir, task=opts.task, split="dev")
    test = load_sst(data_dir, task=opts.task, split="test")
    toks = {name: [tokenize(e.text) for e in split]
            for name, split in (("train", train), ("dev", dev), ("test", test))}
    all_tokens = {t for ts in toks.values() for s in ts for t in s}
    table = build_table(opts, data_dir, toks["train"], all_tokens)
    print(f"{len(train)} train / {len(dev)} dev / {len(test)} test; {len(table.keys)} words "
          f"× {table.dim}; train coverage {table.coverage(t for s in toks['train'] for t in s):.3f}")

    labels = SST_LABELS[opts.task]
    config = KimCNNConfig(n_classes=len(labels), dim=table.dim)
    model = KimCNN(config, len(table.keys), trainable_embeddings=opts.variant != "static")
    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(table.weight()))
    ids = {name: [table.ids(s) for s in ts] for name, ts in toks.items()}
    y_train = torch.tensor([e.label for e in train])
    y_dev = np.array([e.label for e in dev])
    loss_fn = nn.CrossEntropyLoss()

    def loss_on(ix: np.ndarray) -> torch.Tensor:
        x, lengths = pad_ids([ids["train"][i] for i in ix])
        return loss_fn(model(x, lengths), y_train[torch.from_numpy(ix)])

    def predict(seqs: list[list[int]]) -> np.ndarray:
        out = []
        for s in range(0, len(seqs), 500):
            x, lengths = pad_ids(seqs[s : s + 500])
            out.append(model(x, lengths).argmax(dim=1).numpy())
        return np.concatenate(out)

    def dev_accuracy() -> float:
        return float((predict(ids["dev"]) == y_dev).mean())

    def max_norm() -> None:
        # Kim's constraint: rescale output weight rows whose l2 norm exceeds s
        with torch.no_grad():
            w = model.fc.weight
            norms = w.norm(dim=1, keepdim=True).clamp(min=opts.max_norm)
            w.mul_(opts.max_norm / norms)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer: torch.optim.Optimizer
    if opts.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=opts.lr)
        described = f"adam lr={opts.lr}"
    else:
        optimizer = torch.optim.Adadelta(params, lr=opts.lr, rho=0.95, eps=1e-6)
        described = f"adadelta lr={opts.lr} rho=0.95 eps=1e-6"
    result = fit(model, optimizer, len(train), opts.batch_size, opts.epochs, rng, loss_on,
                 dev_accuracy, after_step=max_norm if opts.max_norm > 0 else None,
                 metric_name="dev_accuracy", ema=opts.ema)
    train_seconds = time.perf_counter() - t_start

    learned = opts.variant != "static"
    manifest: dict[str, Any] = {
        "kind": "kim_cnn",
        "task": opts.task,
        "config": asdict(config),
        "labels": labels,
        "embedding": {
            "dim": table.dim,
            "dtype": "float32",
            "source": "artifact" if learned else opts.vectors,
            "variant": opts.variant,
            "pretrained": None if opts.variant == "rand" else opts.vectors,
            "words": len(table.keys),
        },
        "tokenizer": {"version": TOKENIZER_VERSION},
        "metrics": {},
        "training": training_record(
            command=command, seed=opts.seed, epochs=opts.epochs, result=result,
            metric="accuracy", seconds=train_seconds, threads=threads,
            optimizer=f"{described}, batch {opts.batch_size}, max-norm {opts.max_norm}"
                      + (f", weight EMA {opts.ema}" if opts.ema else ""),
            dataset={
                "train": f"{opts.task} train ({opts.train_source}: {len(train)} examples)",
                "dev": f"{opts.task} dev (stsa: {len(dev)})",
                "test": f"{opts.task} test (stsa: {len(test)})",
            },
        ),
    }
    out = Path(opts.out)
    export_model(out, model, manifest, table=table if learned else None)
    # the reported metrics are those of the exported artifact through the numpy runtime
    runtime = load_model(out)
    if learned:
        store = None  # evaluate_model reads the exported table (source "artifact")
    else:
        store = MemoryStore.from_vectors(list(table.keys), table.matrix, source=opts.vectors)
    for split in ("dev", "test"):
        m = evaluate_model(runtime, split, data_dir, store)
        manifest["metrics"][split] = {"accuracy": m["accuracy"], "n": m["n"]}
    export_model(out, model, manifest, table=table if learned else None)
    return manifest
