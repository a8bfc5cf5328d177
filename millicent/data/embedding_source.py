"""The one table of word vectors the models of a comparison share.

Each model's source is what :func:`millicent.runtime.artifact.vectors_source` says: the
pretrained vectors its manifest names (shared by every model naming the same ones), or its
own learned table (``rand``, ``non-static``: what must be in the store and the pack — a
300-d ``rand`` Kim CNN answers with its own vectors, not GloVe's; such a table belongs to
one model, so it is compared alone). :func:`millicent.data.tables.load_table` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from millicent.errors import ConfigError
from millicent.types import VectorsSource


@dataclass(frozen=True)
class EmbeddingSource(VectorsSource):
    """A :class:`~millicent.types.VectorsSource` shared by the compared models."""

    @classmethod
    def of_artifacts(cls, artifacts: Mapping[str, Path], what: str = "compared models",
                     alone: str = "compare a model with its own learned table alone") -> EmbeddingSource:
        """The source the models share; a ConfigError naming each model's when they share
        none (``what`` names the models, ``alone`` says what to do instead)."""
        from millicent.runtime.artifact import vectors_source

        found = {name: vectors_source(path) for name, path in artifacts.items()}
        if len(set(found.values())) != 1:
            raise ConfigError(f"the {what} must share one table of vectors, got "
                              + ", ".join(f"{n}: {s.label}" for n, s in found.items())
                              + f" ({alone})")
        return cls(**asdict(next(iter(found.values()))))

    def load(self, data_dir: Path | None) -> tuple[list[str], np.ndarray]:
        """The whole table, most frequent words first."""
        from millicent.data.tables import load_table

        v = load_table(self, data_dir)
        return list(v.words), v.matrix

    @property
    def ranking(self) -> str:
        """How the pack's words were chosen (recorded in the pack header)."""
        from millicent.data.tables import ranking

        return ranking(self)
