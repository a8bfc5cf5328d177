"""Train a Kim CNN on the user's labelled files or on SST-1 / SST-2, export the artifact.

Data: ``--train FILE [--dev FILE] [--test FILE]`` (:mod:`millicent.train.data`; without
``--dev`` a stratified 10 % of the training rows is held out), or the built-in SST task.
Texts are split by the tokenizer the manifest records (``ptb`` or ``whitespace``,
lower-cased or not), the same function the function runs.

Variants: ``static`` (pretrained vectors, frozen), ``non-static`` (pretrained, fine-tuned;
the tuned table is exported for the store), ``rand`` (a table learned from scratch for
the training split's words, any dimension; exported likewise). Words without a vector
are the zero row, in training as in serving. The pretrained vectors' coverage of the
training tokens is printed and recorded in the manifest.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from millicent.data.coverage import Coverage, coverage
from millicent.data.sst import SST_LABELS
from millicent.data.vectors import load_vectors
from millicent.errors import InvalidInput
from millicent.runtime.artifact import EmbeddingSpec, Manifest, TokenizerSpec
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Classifier
from millicent.tokenizers import TOKENIZERS, make_tokenizer
from millicent.tokenizers.base import Tokenizer
from millicent.torch_models.kim_cnn import VARIANTS, KimCNN, KimCNNConfig
from millicent.train.data import FileOptions, TextData, rename_labels, sst_data, text_data
from millicent.train.export import export_model
from millicent.train.loop import (
    FitResult,
    Run,
    Schedule,
    default_threads,
    fit,
    pad_ids,
    seed_everything,
    training_record,
)
from millicent.train.scoring import DATA_SECTION, classifier_metrics, table_store
from millicent.train.table import WordTable

OPTIMIZERS = ("adadelta", "adam")


@dataclass
class KimOptions:
    """Everything that determines a Kim CNN training run (recorded in the manifest)."""

    out: str
    #: the user's files; None: the built-in SST task ``task``
    data: FileOptions | None = None
    #: sst-1 | sst-2 without ``data``; with it, a name recorded in the manifest (may be "")
    task: str = "sst-1"
    label_names: dict[str, str] | None = None  # file label → the name the model answers
    tokenizer: str = "ptb"
    lowercase: bool = True
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
    threads: int = 0  # 0 → default_threads()
    progress: bool = True  #: the epochs' progress display (not part of the run: not recorded)

    def check(self) -> None:
        if self.data is None and self.task not in SST_LABELS:
            raise InvalidInput(f"--task must be one of {sorted(SST_LABELS)} without --train, "
                               f"got {self.task!r}")
        if self.variant not in VARIANTS:
            raise InvalidInput(f"--variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.variant == "rand" and not self.dim:
            raise InvalidInput("--variant rand needs --dim N (e.g. 300)")
        if self.epochs < 1:
            raise InvalidInput("--epochs must be at least 1")
        if self.optimizer not in OPTIMIZERS:
            raise InvalidInput(f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.tokenizer not in TOKENIZERS:
            raise InvalidInput(f"--tokenizer must be one of {sorted(TOKENIZERS)}, "
                               f"got {self.tokenizer!r}")


def kim_data(opts: KimOptions, data_dir: Path | None) -> tuple[TextData, list[str] | None]:
    """The splits, and the training file's label values when ``label_names`` renamed them."""
    data = text_data(opts.data) if opts.data is not None else sst_data(opts.task, data_dir)
    values = rename_labels(data, opts.label_names) if opts.label_names else None
    return data, values


def build_table(opts: KimOptions, data_dir: Path | None, train_tokens: list[list[str]],
                all_tokens: set[str], tokenizer: Tokenizer) -> WordTable:
    """The embedding table the variant starts from, keyed by the model's ``tokenizer``."""
    if opts.variant == "rand":
        if not opts.dim:
            raise InvalidInput("--variant rand needs --dim N")
        return WordTable.random((t for ts in train_tokens for t in ts), opts.dim, opts.seed,
                                tokenizer)
    vectors = load_vectors(opts.vectors, data_dir=data_dir, vocab=all_tokens,
                           key=tokenizer.vocabulary_key)
    table = WordTable.from_vectors(vectors.words, vectors.matrix, tokenizer)
    if not table.keys:
        raise InvalidInput(f"{opts.vectors} has a vector for none of the data's words")
    if opts.dim and opts.dim != table.dim:
        raise InvalidInput(f"--dim {opts.dim} but {opts.vectors} holds {table.dim}-d vectors")
    return table


def train_kim(opts: KimOptions, data_dir: Path | None, command: str) -> Manifest:
    """Train, keep the best-dev epoch, export to ``opts.out``; returns the manifest."""
    opts.check()
    t_start = time.perf_counter()
    threads = opts.threads or default_threads()
    rng = seed_everything(opts.seed, threads)
    data, values = kim_data(opts, data_dir)
    # the model being trained: its tokenizer from its spec (the artifact does not exist yet)
    tokenizer = make_tokenizer(TokenizerSpec.of(opts.tokenizer, opts.lowercase))
    toks = {name: [tokenizer.tokenize(t) for t in texts] for name, texts in data.texts.items()}
    all_tokens = {t for ts in toks.values() for s in ts for t in s}
    table = build_table(opts, data_dir, toks["train"], all_tokens, tokenizer)
    cov = coverage((t for s in toks["train"] for t in s), table.index, tokenizer.key)
    sizes = " / ".join(f"{len(v):,} {k}" for k, v in data.texts.items())
    print(f"{sizes}; {len(table.keys):,} words × {table.dim}; {cov.line()}")

    model = KimCNN(KimCNNConfig(n_classes=len(data.labels), dim=table.dim), len(table.keys),
                   trainable_embeddings=opts.variant != "static")
    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(table.weight()))
    result, described = _fit(model, opts, table, toks, data, rng)
    run = Run(command, opts.seed, opts.epochs, threads, time.perf_counter() - t_start)
    manifest = _manifest(opts, data, values, table, cov, model.config,
                         training_record(run, result, "accuracy", described, data.dataset))
    learned = table if opts.variant != "static" else None
    out = Path(opts.out)
    export_model(out, model, manifest, table=learned)
    # the reported metrics are those of the exported artifact through the numpy runtime
    manifest = manifest.with_metrics(_runtime_metrics(out, data, table, opts.vectors))
    export_model(out, model, manifest, table=learned)
    return manifest


def _fit(model: KimCNN, opts: KimOptions, table: WordTable, toks: dict[str, list[list[str]]],
         data: TextData, rng: np.random.Generator) -> tuple[FitResult, str]:
    """Train with the options' optimizer; the best-dev epoch's weights stay in ``model``."""
    ids = {name: [table.ids(s) for s in ts] for name, ts in toks.items()}
    y_train = torch.tensor(data.y["train"])
    y_dev = np.array(data.y["dev"])
    loss_fn = nn.CrossEntropyLoss()

    def loss_on(ix: np.ndarray) -> torch.Tensor:
        x, lengths = pad_ids([ids["train"][i] for i in ix])
        return loss_fn(model(x, lengths), y_train[torch.from_numpy(ix)])

    def dev_accuracy() -> float:
        out = []
        for s in range(0, len(ids["dev"]), 500):
            x, lengths = pad_ids(ids["dev"][s : s + 500])
            out.append(model(x, lengths).argmax(dim=1).numpy())
        return float((np.concatenate(out) == y_dev).mean())

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
    schedule = Schedule(opts.batch_size, opts.epochs, "dev_accuracy", opts.ema, opts.progress)
    result = fit(model, optimizer, len(ids["train"]), schedule, rng, loss_on, dev_accuracy,
                 after_step=max_norm if opts.max_norm > 0 else None)
    described += f", batch {opts.batch_size}, max-norm {opts.max_norm}"
    return result, described + (f", weight EMA {opts.ema}" if opts.ema else "")


def _manifest(opts: KimOptions, data: TextData, values: list[str] | None, table: WordTable,
              cov: Coverage, config: KimCNNConfig, training: dict[str, Any]) -> Manifest:
    learned = opts.variant != "static"
    sections: dict[str, Any] = {}
    if opts.data is not None or values:
        section: dict[str, Any] = {"label_values": values or list(data.labels)}
        if opts.data is not None:
            section.update(format=opts.data.format, text_column=opts.data.text_column,
                           label_column=opts.data.label_column)
        sections[DATA_SECTION] = section
    return Manifest(
        kind="kim_cnn", role="classify", task=opts.task, config=asdict(config),
        labels=data.labels,
        embedding=EmbeddingSpec(
            dim=table.dim, dtype="float32", source="artifact" if learned else opts.vectors,
            variant=opts.variant, pretrained=None if opts.variant == "rand" else opts.vectors,
            words=len(table.keys), coverage=cov.to_dict()),
        tokenizer=TokenizerSpec.of(opts.tokenizer, opts.lowercase),
        training=training, sections=sections)


def _runtime_metrics(out: Path, data: TextData, table: WordTable, vectors: str) -> dict[str, Any]:
    """dev (and test) metrics of the exported artifact, through the numpy runtime."""
    runtime = load_model(out)
    if not isinstance(runtime, Classifier):  # pragma: no cover - a Kim CNN classifies
        raise InvalidInput(f"{out} is not a classifier")
    exported = runtime.artifact.embedding_table()  # the fine-tuned / learned table
    words, matrix = exported if exported is not None else (table.keys, table.matrix)
    store = table_store(words, matrix, vectors, runtime.tokenizer)
    metrics: dict[str, Any] = {}
    for split in ("dev", "test"):
        if split in data.texts:
            m = classifier_metrics(runtime, data.texts[split], data.y[split], store)
            metrics[split] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"]}
    return metrics
