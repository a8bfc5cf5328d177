"""Where the data lives, and the one error message for a missing file."""

from __future__ import annotations

import os
from pathlib import Path

from millicent import config
from millicent.errors import DataError

PathLike = str | os.PathLike[str]


def resolve_data_dir(data_dir: PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$MILLICENT_DATA_DIR``, else the download cache."""
    return config.data_dir(data_dir)


def data_file(data_dir: PathLike | None, relpath: str) -> Path:
    """The path of ``relpath`` inside the data directory; :class:`DataError` if it is absent."""
    root = resolve_data_dir(data_dir)
    path = root / relpath
    if not path.is_file():
        raise missing_data(root, relpath)
    return path


def missing_data(root: Path, relpath: str) -> DataError:
    """The error for a data file that is not there, saying how to get it."""
    if not root.is_dir():
        where = f"data directory {root} does not exist"
    else:
        where = f"{relpath} is missing from data directory {root}"
    return DataError(
        f"{where}: pass --data-dir (or set ${config.DATA_DIR}) to a local copy of the data, "
        f"or download it with `millicent data fetch`",
        path=str(root / relpath),
    )
