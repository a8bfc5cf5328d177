"""The one table of word vectors the models of a comparison share, and its frequency order.

Two kinds of models exist:

* models over *pretrained* vectors (``static``): their manifest names a source
  (``glove-50``, a vector file) and every model naming the same source shares it;
* models with a *learned* table (``rand``, ``non-static``): the artifact exports its own
  ``embeddings.npz``, which is what must be in the store and the pack — a 300-d ``rand``
  Kim CNN answers with its own 300-d vectors, not GloVe's. Such a table belongs to one
  model, so it is compared alone.

The pack holds the most frequent words first. GloVe's rows are already in corpus-frequency
order; a learned table is in the order its words were first met in training, so it is
ranked by the token counts of the model's training split instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ConfigError, DataError

EMBEDDINGS = "embeddings.npz"


def _manifest(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((path / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}/manifest.json: {exc}") from exc


def _slug(text: str) -> str:
    """A DynamoDB-table-name-safe fragment."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "vectors"


def file_digest(path: Path, n: int = 8) -> str:
    """The first ``n`` hex digits of a file's sha256 (names a learned table's contents)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]


@dataclass(frozen=True)
class EmbeddingSource:
    """Where the shared vectors come from, and how stores and packs name them."""

    spec: str  #: ``glove-50`` / a vector file, or ``artifact`` for a learned table
    label: str  #: recorded as the source of the stores and packs
    slug: str  #: part of table and file names, so two sources never share a table
    artifact: Path | None = None  #: the artifact whose ``embeddings.npz`` this is
    task: str | None = None  #: its training task (ranks a learned table by frequency)

    @property
    def learned(self) -> bool:
        return self.artifact is not None

    @classmethod
    def of_artifacts(cls, artifacts: Mapping[str, Path]) -> EmbeddingSource:
        """The source the models share; a ConfigError when they share none."""
        found: dict[str, EmbeddingSource] = {}
        for name, path in artifacts.items():
            manifest = _manifest(path)
            emb = manifest.get("embedding", {})
            spec = str(emb.get("source", ""))
            if (path / EMBEDDINGS).is_file():
                digest = file_digest(path / EMBEDDINGS)
                found[name] = cls("artifact", f"artifact:{path.resolve().name}@{digest}",
                                  _slug(f"{path.resolve().name}-{digest}"), path,
                                  str(manifest.get("task", "")) or None)
            elif spec and spec != "artifact":
                found[name] = cls(spec, spec, _slug(Path(spec).name if "/" in spec else spec))
            else:
                raise ConfigError(f"--model {name}={path}: no {EMBEDDINGS} and no pretrained "
                                  "source in its manifest")
        distinct = set(found.values())
        if len(distinct) != 1:
            raise ConfigError("the compared models must share one table of vectors, got "
                              + ", ".join(f"{n}: {s.label}" for n, s in found.items())
                              + " (compare a model with its own learned table alone)")
        return distinct.pop()

    def load(self, data_dir: Path | None) -> tuple[list[str], np.ndarray]:
        """The whole table, most frequent words first."""
        if self.artifact is None:
            from millicent.data.vectors import load_vectors

            v = load_vectors(self.spec, data_dir)
            return list(v.words), v.matrix  # GloVe-style files are in frequency order
        from millicent.runtime.artifact import load_artifact

        table = load_artifact(self.artifact).embedding_table()
        if table is None:  # pragma: no cover - checked by of_artifacts
            raise DataError(f"{self.artifact} has no {EMBEDDINGS}")
        words, matrix = table
        return self._by_frequency(words, matrix, data_dir)

    def _by_frequency(self, words: list[str], matrix: np.ndarray,
                      data_dir: Path | None) -> tuple[list[str], np.ndarray]:
        from millicent.data.frequency import SOURCES, frequency_ranked_words
        from millicent.words import vector_key

        if self.task not in SOURCES:
            return words, matrix
        rank = {k: i for i, k in enumerate(frequency_ranked_words(self.task, data_dir))}
        last = len(rank)
        # ranked words first (by training count), the rest after them in table order
        order = sorted(range(len(words)), key=lambda i: (rank.get(vector_key(words[i]), last), i))
        return [words[i] for i in order], matrix[np.asarray(order, dtype=np.int64)]

    @property
    def ranking(self) -> str:
        """How the pack's words were chosen (recorded in the pack header)."""
        if self.artifact is None:
            return "glove"
        return f"{self.task} train counts" if self.task else "table order"
