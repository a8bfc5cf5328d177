"""Evaluate an artifact through the serving path (numpy only, no torch).

Every text goes tokenizer (tokens and their store keys) → ``embeddings.lookup`` → numpy
forward pass, exactly as in the function (an ``embed`` model ranks TrecQA's answers by the
cosine of their embeddings to the question's: MAP and MRR, zero-shot), with the vectors from the source the manifest records (``glove-50``, a vector
file, or the artifact's own exported table) or from a store URL. Both must give the same
metrics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ArtifactError, InvalidInput
from millicent.runtime.artifact import vectors_source
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Classifier, Embedder, Pairs, Ranker, ServedModel
from millicent.store.base import EmbeddingStore
from millicent.store.memory import MemoryStore
from millicent.train.metrics import classification_metrics, map_mrr
from millicent.types import Embeddings

#: ``--split`` names for TrecQA: dev and test are the paper's raw sets.
TRECQA_SPLITS = {"dev": "raw-dev", "test": "raw-test"}
BATCH = 256


def memory_embeddings(
    model: ServedModel, data_dir: Path | None, tokens: Sequence[str]
) -> EmbeddingStore:
    """An in-memory store of the model's vectors (:func:`vectors_source`) for the given
    tokens' words, keyed by the model's tokenizer."""
    from millicent.data.tables import load_table

    source = vectors_source(model.artifact.path, model.manifest)
    vectors = load_table(source, data_dir, vocab=set(tokens), by_frequency=False,
                         tokenizer=model.tokenizer)
    if len(vectors) and vectors.dim != model.dim:
        raise ArtifactError(
            f"{source.label} holds {vectors.dim}-d vectors, the model needs {model.dim}-d"
        )
    return MemoryStore.from_vectors(vectors.words, vectors.matrix, source=source.label)


def classify_all(model: Classifier, embeddings: Embeddings, texts: Sequence[str]) -> np.ndarray:
    """Probabilities (n, classes) of every text via encode → lookup → batched forward."""
    out = []
    for start in range(0, len(texts), BATCH):
        encs = model.tokenizer.encode_all(texts[start : start + BATCH])
        out.append(model.predict_batch([embeddings.lookup(e.keys).matrix for e in encs], encs))
    return np.concatenate(out) if out else np.zeros((0, len(model.labels)), np.float32)


def embed_all(model: Embedder, embeddings: Embeddings, texts: Sequence[str]) -> np.ndarray:
    """The vectors (n, out_dim) of every text via encode → lookup → batched forward."""
    out = []
    for start in range(0, len(texts), BATCH):
        encs = model.tokenizer.encode_all(texts[start : start + BATCH])
        out.append(model.embed_batch([embeddings.lookup(e.keys).matrix for e in encs], encs))
    return np.concatenate(out) if out else np.zeros((0, model.out_dim), np.float32)


def _questions(pairs: Sequence[Any]) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault((p.qid, p.question), []).append(i)
    return groups


def _ranking(model: Ranker, embeddings: Embeddings, question: str,
             answers: Sequence[str]) -> np.ndarray:
    """The model's ranking scores of one question's answers (cross-encoders: each pair as
    one sequence)."""
    tok = model.tokenizer
    if tok.pairs:
        joint = [tok.encode_pair(question, a) for a in answers]
        embs = [embeddings.lookup(e.keys).matrix for e in joint]
        return model.ranking(Pairs.joint(embs, joint, model.dim))
    q, encs = tok.encode(question), tok.encode_all(answers)
    q_emb = embeddings.lookup(q.keys).matrix
    a_embs = [embeddings.lookup(a.keys).matrix for a in encs]
    return model.ranking(Pairs(q_emb, a_embs, q.tokens, [a.tokens for a in encs], q, encs))


def rank_all(
    model: Ranker | Embedder, embeddings: Embeddings, pairs: Sequence[Any]
) -> np.ndarray:
    """A relevance score per pair (question by question, the question encoded once), by
    the model's :meth:`~millicent.runtime.roles.Ranker.ranking` (SM CNN: the logit
    margin, which does not saturate to ties in float32 the way the probability does); an
    embedder's: the cosine of the answer's embedding to the question's."""
    scores = np.zeros(len(pairs), dtype=np.float64)
    for (_, question), ix in _questions(pairs).items():
        answers = [pairs[i].answer for i in ix]
        if isinstance(model, Embedder):
            v = embed_all(model, embeddings, [question, *answers]).astype(np.float64)
            norms = np.linalg.norm(v, axis=1)
            norms[norms == 0] = 1.0
            v /= norms[:, None]
            scores[ix] = v[1:] @ v[0]
        else:
            scores[ix] = _ranking(model, embeddings, question, answers)
    return scores


def evaluate_model(
    model: ServedModel,
    split: str,
    data_dir: Path | None,
    embeddings: Embeddings | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` on a split; vectors from ``embeddings`` or the manifest's source."""
    task = model.task
    if isinstance(model, Classifier):
        from millicent.data.sst import load_sst

        if split not in ("train", "dev", "test"):
            raise InvalidInput(f"SST splits are train, dev, test; got {split!r}")
        examples = load_sst(data_dir, task=task, split=split)
        texts = [e.text for e in examples]
        emb = embeddings or memory_embeddings(model, data_dir, [t for x in texts for t in model.tokenize(x)])
        probs = classify_all(model, emb, texts)
        found = classification_metrics(probs.argmax(axis=1), [e.label for e in examples],
                                       model.labels)
        return {**found, "split": split, "task": task}
    from millicent.data.trecqa import load_trecqa

    name = TRECQA_SPLITS.get(split, split)
    pairs = load_trecqa(data_dir, name)
    if embeddings is None:
        words = [t for p in pairs for t in model.tokenize(p.question) + model.tokenize(p.answer)]
        embeddings = memory_embeddings(model, data_dir, words)
    scores = rank_all(model, embeddings, pairs)
    metrics = map_mrr([p.qid for p in pairs], scores, [p.label for p in pairs])
    return {
        "map": metrics["map"],
        "mrr": metrics["mrr"],
        "n": len(pairs),
        "questions": metrics["questions"],
        "split": name,
        "task": task or "trecqa",
    }


def evaluate_artifact(
    path: str | os.PathLike[str],
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    store_url: str | None = None,
) -> dict[str, Any]:
    """``millicent eval``: load the artifact, pick the vectors, compute the split's metrics."""
    model = load_model(path)
    embeddings: Embeddings | None = None
    if store_url:
        from millicent.store import open_embeddings

        embeddings = open_embeddings(store_url)
    try:
        return evaluate_model(model, split, Path(data_dir) if data_dir else None, embeddings)
    finally:
        if embeddings is not None:
            embeddings.close()
