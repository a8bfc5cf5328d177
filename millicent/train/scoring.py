"""Metrics of a served model on data — texts with labels, question/answer pairs, a file —
through the serving path (the model's tokenizer → ``embeddings.lookup`` → numpy forward
pass), as the function computes them.

Classifiers: ``accuracy``, ``macro_f1``, ``per_class`` (precision / recall / F1 / support)
and ``confusion_matrix`` (rows = true labels in the manifest's order). Rankers: ``map``
and ``mrr`` (ties broken pessimistically, :mod:`millicent.train.metrics`).

A file's labels are matched to the model's by text: the manifest's label names, and the
values the training file held when ``--label-names`` renamed them (the manifest's
``data.label_values`` section), so ``1`` in a stsa file finds ``positive``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from millicent.data.trecqa import QAPair
from millicent.errors import DataError
from millicent.runtime.artifact import Manifest
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Classifier, Embedder, Ranker, ServedModel
from millicent.store.memory import MemoryStore
from millicent.tokenizers.base import Tokenizer
from millicent.train.data import FileOptions
from millicent.train.evaluate import classify_all, memory_embeddings, rank_all
from millicent.train.metrics import classification_metrics, map_mrr
from millicent.types import Embeddings

#: the manifest section that keeps what the training data's labels looked like
DATA_SECTION = "data"


def table_store(words: Sequence[str], matrix: np.ndarray, source: str,
                tokenizer: Tokenizer) -> MemoryStore:
    """An in-memory store of a training table, keyed as the model's ``tokenizer`` keys a
    vector file's words (a table's words are keys already: the key function is
    idempotent)."""
    return MemoryStore.from_vectors(words, matrix, source=source, key=tokenizer.vocabulary_key)


def label_values(manifest: Manifest) -> list[str]:
    """The training file's label text of each output index (the names unless renamed)."""
    data = manifest.sections.get(DATA_SECTION) or {}
    values = data.get("label_values") if isinstance(data, dict) else None
    if isinstance(values, list) and len(values) == len(manifest.labels):
        return [str(v) for v in values]
    return list(manifest.labels)


def label_index(manifest: Manifest) -> dict[str, int]:
    """Label text → output index: the label names and the training file's values."""
    index = {value: i for i, value in enumerate(label_values(manifest))}
    index.update({name: i for i, name in enumerate(manifest.labels)})
    return index


def classifier_metrics(model: Classifier, texts: Sequence[str], gold: Sequence[int],
                       embeddings: Embeddings) -> dict[str, Any]:
    """Classification metrics of ``model`` on ``texts`` whose label indices are ``gold``."""
    probs = classify_all(model, embeddings, texts)
    return classification_metrics(probs.argmax(axis=1), gold, model.labels)


def ranker_metrics(model: Ranker | Embedder, pairs: Sequence[QAPair],
                   embeddings: Embeddings) -> dict[str, Any]:
    """``map``, ``mrr``, ``n`` (pairs) and ``questions`` (those with a correct answer)."""
    scores = rank_all(model, embeddings, pairs)
    try:
        m = map_mrr([p.qid for p in pairs], scores, [p.label for p in pairs])
    except ValueError as exc:  # no question with a correct answer: MAP is undefined
        raise DataError(f"cannot rank {len(pairs)} pairs: {exc}") from exc
    return {"map": m["map"], "mrr": m["mrr"], "n": len(pairs), "questions": m["questions"]}


def _tokens(model: ServedModel, texts: Sequence[str]) -> list[str]:
    return [t for text in texts for t in model.tokenize(text)]


def evaluate_file(artifact: str | os.PathLike[str], opts: FileOptions,
                  data_dir: Path | None = None, store_url: str | None = None) -> dict[str, Any]:
    """``millicent eval ARTIFACT --file PATH``: the metrics of the artifact on one file
    (``opts.train`` names it), vectors from the manifest's source or ``store_url``."""
    model = load_model(artifact)
    embeddings: Embeddings | None = None
    if store_url:
        from millicent.store import open_embeddings

        embeddings = open_embeddings(store_url)
    try:
        if isinstance(model, Classifier):
            return _classifier_file(model, opts, data_dir, embeddings)
        return _ranker_file(model, opts, data_dir, embeddings)
    finally:
        if embeddings is not None:
            embeddings.close()


def _classifier_file(model: Classifier, opts: FileOptions, data_dir: Path | None,
                     embeddings: Embeddings | None) -> dict[str, Any]:
    from millicent.data.labelled import Columns, check_known, read_labelled

    data = read_labelled(opts.train, opts.format, Columns(opts.text_column, opts.label_column),
                         opts.skip_bad_rows)
    index = label_index(model.manifest)
    check_known(data, model.labels, known=index, what="the model does not have")
    texts = [e.text for e in data.rows]
    emb = embeddings or memory_embeddings(model, data_dir, _tokens(model, texts))
    metrics = classifier_metrics(model, texts, [index[e.label] for e in data.rows], emb)
    return {"file": data.path, **metrics, "bad_rows_skipped": data.bad_rows}


def _ranker_file(model: Ranker | Embedder, opts: FileOptions, data_dir: Path | None,
                 embeddings: Embeddings | None) -> dict[str, Any]:
    from millicent.data.pairs import read_pairs

    data = read_pairs(opts.train, opts.format, skip_bad_rows=opts.skip_bad_rows)
    texts = [t for p in data.rows for t in (p.question, p.answer)]
    emb = embeddings or memory_embeddings(model, data_dir, _tokens(model, texts))
    return {"file": data.path, **ranker_metrics(model, data.rows, emb),
            "bad_rows_skipped": data.bad_rows}
