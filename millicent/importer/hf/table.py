"""The token table at import: read with numpy, named by its digest, found in the data directory.

The table is not copied into the artifact. The manifest records where it can be read
(:func:`millicent.data.token_table.locate`): the data directory's catalogued copy of the
same table, when there is one — so an artifact built from all-MiniLM-L6-v2, or fine-tuned
from it with the table frozen, works on any machine with the data directory — and the
file it was imported from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.data.catalog import load_catalog
from millicent.data.paths import PathLike, resolve_data_dir
from millicent.data.token_table import (
    read_tensor,
    table_digest,
    table_keys,
    tensor_aliases,
    tensor_shapes,
)
from millicent.errors import ArtifactError, InvalidInput
from millicent.importer.hf.source import HFSource


@dataclass(frozen=True)
class TableInfo:
    """The table as the manifest records it (``embedding.table``)."""

    tensor: str
    sha256: str
    rows: int
    keys: int  #: rows the vocabulary names (the store's keys)
    path: Path
    catalog: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"tensor": self.tensor, "sha256": self.sha256, "rows": self.rows,
                "keys": self.keys, "catalog": self.catalog, "path": str(self.path)}


def read_table(source: HFSource, data_dir: PathLike | None) -> tuple[np.ndarray, TableInfo]:
    """The table (float32) and what the manifest records of it; InvalidInput when the
    vocabulary does not fit it."""
    try:
        matrix = read_tensor(source.weights, source.tensor)
        keys = table_keys(source.tokenizer, int(matrix.shape[0]))
    except ArtifactError as exc:
        raise InvalidInput(f"refused: {exc.message}") from exc
    digest = table_digest(matrix)
    info = TableInfo(tensor=source.tensor, sha256=digest, rows=int(matrix.shape[0]),
                     keys=len(keys), path=source.weights.resolve(),
                     catalog=catalog_copy(digest, source.tensor, matrix.shape, data_dir))
    return matrix, info


def catalog_copy(digest: str, tensor: str, shape: tuple[int, ...],
                 data_dir: PathLike | None) -> str | None:
    """The catalog path of a model in the data directory whose table is this one, if any."""
    root = resolve_data_dir(data_dir)
    for entry in load_catalog():
        path = root / entry.path
        if not entry.path.endswith(".safetensors") or not path.is_file():
            continue
        shapes = tensor_shapes(path)
        # the base model names the table without the task model's prefix (bert. ...)
        for name in tensor_aliases(tensor):
            if shapes.get(name, ((), ""))[0] == tuple(shape) \
                    and table_digest(read_tensor(path, name)) == digest:
                return entry.path
    return None
