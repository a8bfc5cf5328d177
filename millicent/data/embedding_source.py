"""The one table of word vectors the models of a comparison share.

Each model's source is what :func:`millicent.runtime.artifact.vectors_source` says: the
pretrained vectors its manifest names (shared by every model naming the same ones), or its
own learned table (``rand``, ``non-static``: what must be in the store and the pack — a
300-d ``rand`` Kim CNN answers with its own vectors, not GloVe's; such a table belongs to
one model, so it is compared alone). :func:`millicent.data.tables.load_table` reads it,
keyed by the models' tokenizer (they share its ``key_scheme``, part of the identity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from millicent.errors import ConfigError
from millicent.types import VectorsSource

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer


@dataclass(frozen=True)
class EmbeddingSource(VectorsSource):
    """A :class:`~millicent.types.VectorsSource` shared by the compared models, with the
    tokenizer that keys its words (the models'; not part of the identity, which holds its
    ``key_scheme``)."""

    tokenizer: Tokenizer | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of_artifacts(cls, artifacts: Mapping[str, Path]) -> EmbeddingSource:
        """The source the models share; ConfigError naming each model's when they share
        none (the one-table rule: :mod:`millicent.runtime.one_table`)."""
        from millicent.runtime.artifact import vectors_source
        from millicent.runtime.one_table import one_table
        from millicent.tokenizers import make_tokenizer

        manifests = one_table(artifacts)
        name, path = next(iter(artifacts.items()))
        source = vectors_source(path, manifests[name])
        tokenizer = make_tokenizer(manifests[name].tokenizer, path)
        return cls(**{f.name: getattr(source, f.name) for f in fields(source)},
                   tokenizer=tokenizer)

    @property
    def keys(self) -> Tokenizer:
        """The tokenizer that keys the source's words (the models')."""
        if self.tokenizer is None:
            raise ConfigError(f"{self.label}: no tokenizer to key its words with")
        return self.tokenizer

    def load(self, data_dir: Path | None) -> tuple[list[str], np.ndarray]:
        """The whole table under its store keys, most frequent words first."""
        from millicent.data.tables import load_table

        v = load_table(self, data_dir, tokenizer=self.keys)
        return list(v.words), v.matrix

    @property
    def ranking(self) -> str:
        """How the pack's words were chosen (recorded in the pack header)."""
        from millicent.data.tables import ranking

        return ranking(self)
