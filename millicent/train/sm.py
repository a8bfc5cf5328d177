"""Train an SM CNN on the user's pairs files or on TrecQA, and export the runtime artifact.

Data: ``--train FILE [--dev FILE] [--test FILE]`` (CSV / TSV / JSONL pairs,
:mod:`millicent.train.data`; without ``--dev`` 10 % of the questions are held out, whole),
or TrecQA in Castor format: ``train``, raw-dev as dev (best epoch by MAP), raw-test as
test, and clean-dev / clean-test reported beside them (raw-test MAP is inflated by
questions whose answers are all positive).

Static word vectors. With ``features="overlap"`` the four word-overlap features (IDF from
the training sentences, standardised with training statistics) join the network; they are
computed from tokens by ``millicent.runtime.features`` in training and serving alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from millicent.data.coverage import Coverage, coverage
from millicent.data.trecqa import QAPair
from millicent.data.vectors import load_vectors
from millicent.errors import InvalidInput
from millicent.runtime.artifact import EmbeddingSpec, Manifest, TokenizerSpec
from millicent.runtime.features import N_FEATURES, OverlapFeatures, compute_idf
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Ranker
from millicent.tokenizers import TOKENIZERS, make_tokenizer
from millicent.tokenizers.base import Tokenizer
from millicent.torch_models.sm_cnn import SMCNN, SMCNNConfig
from millicent.train.data import FileOptions, PairData, castor_data, pair_data
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
from millicent.train.metrics import map_mrr
from millicent.train.scoring import DATA_SECTION, ranker_metrics, table_store
from millicent.train.table import WordTable

FEATURES = ("none", "overlap")


@dataclass
class SMOptions:
    """Everything that determines an SM CNN training run (recorded in the manifest)."""

    out: str
    #: the user's pairs files; None: TrecQA (Castor format) from the data directory
    data: FileOptions | None = None
    task: str = "trecqa"
    tokenizer: str = "ptb"
    lowercase: bool = True
    vectors: str = "glove-50"
    features: str = "none"
    epochs: int = 12
    seed: int = 1
    batch_size: int = 64
    lr: float = 1e-3  # Adam
    weight_decay: float = 1e-5
    ema: float = 0.0  # > 0: export an exponential moving average of the weights
    threads: int = 0
    progress: bool = True  #: the epochs' progress display (not part of the run: not recorded)

    def check(self) -> None:
        if self.features not in FEATURES:
            raise InvalidInput(f"--features must be one of {FEATURES}, got {self.features!r}")
        if self.epochs < 1:
            raise InvalidInput("--epochs must be at least 1")
        if self.tokenizer not in TOKENIZERS:
            raise InvalidInput(f"--tokenizer must be one of {sorted(TOKENIZERS)}, "
                               f"got {self.tokenizer!r}")


class _Split:
    """One split's pairs as tokens (and, once indexed, token ids and features)."""

    def __init__(self, pairs: list[QAPair], tokenize: Callable[[str], list[str]]) -> None:
        self.pairs = pairs
        self.q_tokens = [tokenize(p.question) for p in pairs]
        self.a_tokens = [tokenize(p.answer) for p in pairs]
        self.labels = np.array([p.label for p in pairs], dtype=np.int64)
        self.qids = [p.qid for p in pairs]
        self.feats: np.ndarray | None = None

    def tokens(self) -> list[str]:
        return [t for ts in self.q_tokens + self.a_tokens for t in ts]

    def index(self, table: WordTable) -> None:
        self.q_ids = [table.ids(t) for t in self.q_tokens]
        self.a_ids = [table.ids(t) for t in self.a_tokens]


def _features(opts: SMOptions, train: _Split, dev: _Split, tokenizer: Tokenizer
              ) -> tuple[OverlapFeatures | None, tuple[list[str], np.ndarray] | None]:
    """The overlap features (IDF over the training split's distinct sentences; words
    compared by the model's ``tokenizer``'s keys), fitted."""
    if opts.features != "overlap":
        return None, None
    sentences = {" ".join(t): t for t in train.q_tokens + train.a_tokens}
    words, idf, unseen = compute_idf(sentences.values(), tokenizer.key)
    features = OverlapFeatures(dict(zip(words, idf.tolist(), strict=True)), unseen,
                               key=tokenizer.key)
    raw = np.stack([features.raw(q, a) for q, a in zip(train.q_tokens, train.a_tokens, strict=True)])
    features.fit_scaler(raw)
    for s in (train, dev):
        s.feats = np.stack([features(q, a) for q, a in zip(s.q_tokens, s.a_tokens, strict=True)])
    return features, (words, idf)


def train_sm(opts: SMOptions, data_dir: Path | None, command: str) -> Manifest:
    """Train, keep the best dev MAP epoch, export to ``opts.out``; returns the manifest."""
    opts.check()
    t_start = time.perf_counter()
    threads = opts.threads or default_threads()
    rng = seed_everything(opts.seed, threads)
    data: PairData = pair_data(opts.data) if opts.data is not None else castor_data(data_dir)
    # the model being trained: its tokenizer from its spec (the artifact does not exist yet)
    tokenizer = make_tokenizer(TokenizerSpec.of(opts.tokenizer, opts.lowercase))
    splits = {name: _Split(pairs, tokenizer.tokenize) for name, pairs in data.pairs.items()}
    train, dev = splits["train"], splits["dev"]
    # every split's words, so the exported evaluation needs no second vector load
    all_tokens = {t for s in splits.values() for t in s.tokens()}
    vectors = load_vectors(opts.vectors, data_dir=data_dir, vocab=all_tokens,
                           key=tokenizer.vocabulary_key)
    table = WordTable.from_vectors(vectors.words, vectors.matrix, tokenizer)
    if not table.keys:
        raise InvalidInput(f"{opts.vectors} has a vector for none of the data's words")
    for s in (train, dev):
        s.index(table)
    cov = coverage(train.tokens(), table.index, tokenizer.key)
    print(f"{len(train.pairs):,} train / {len(dev.pairs):,} dev pairs; {len(table.keys):,} words "
          f"× {table.dim}; {cov.line()}")
    features, idf_table = _features(opts, train, dev, tokenizer)
    config = SMCNNConfig(dim=table.dim, n_features=N_FEATURES if features else 0)
    model = SMCNN(config, len(table.keys))
    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(table.weight()))
    result, described = _fit(model, opts, train, dev, rng)
    run = Run(command, opts.seed, opts.epochs, threads, time.perf_counter() - t_start)
    manifest = _manifest(opts, table, cov, config, features,
                         training_record(run, result, "map", described, data.dataset))
    out = Path(opts.out)
    export_model(out, model, manifest, idf=idf_table)
    manifest = manifest.with_metrics(_runtime_metrics(out, data, table, opts.vectors))
    export_model(out, model, manifest, idf=idf_table)
    return manifest


def _fit(model: SMCNN, opts: SMOptions, train: _Split, dev: _Split,
         rng: np.random.Generator) -> tuple[FitResult, str]:
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
    schedule = Schedule(opts.batch_size, opts.epochs, "dev_map", opts.ema, opts.progress)
    result = fit(model, optimizer, len(train.pairs), schedule, rng, loss_on, dev_map)
    described = (f"adam lr={opts.lr} weight_decay={opts.weight_decay}, batch {opts.batch_size}"
                 + (f", weight EMA {opts.ema}" if opts.ema else ""))
    return result, described


def _manifest(opts: SMOptions, table: WordTable, cov: Coverage, config: SMCNNConfig,
              features: OverlapFeatures | None, training: dict[str, Any]) -> Manifest:
    sections: dict[str, Any] = {}
    if opts.data is not None:
        sections[DATA_SECTION] = {"format": opts.data.format}
    return Manifest(
        kind="sm_cnn", role="rank", task=opts.task, config=asdict(config),
        labels=("irrelevant", "relevant"),
        embedding=EmbeddingSpec(dim=table.dim, dtype="float32", source=opts.vectors,
                                variant="static", pretrained=opts.vectors,
                                words=len(table.keys), coverage=cov.to_dict()),
        tokenizer=TokenizerSpec.of(opts.tokenizer, opts.lowercase),
        features=features.to_manifest() if features is not None else None,
        training=training, sections=sections)


def _runtime_metrics(out: Path, data: PairData, table: WordTable, vectors: str) -> dict[str, Any]:
    """The metrics of every split but train, through the numpy runtime."""
    runtime = load_model(out)
    if not isinstance(runtime, Ranker):  # pragma: no cover - an SM CNN ranks
        raise InvalidInput(f"{out} is not a ranker")
    store = table_store(table.keys, table.matrix, vectors, runtime.tokenizer)
    return {name: ranker_metrics(runtime, pairs, store)
            for name, pairs in data.pairs.items() if name != "train"}
