"""Writing an imported artifact whole or not at all: ``--out`` checked first, the artifact
staged beside it and renamed into place only once it is complete (every importer)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from millicent.errors import InvalidInput


def check_out(out: Path, force: bool) -> None:
    """InvalidInput unless ``out`` may be written: absent or empty (or ``force``), in an
    existing directory."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise InvalidInput(f"--out {out} exists and is not empty: remove it, pick another "
                           "directory or give --force to replace it")
    if not out.parent.is_dir():
        raise InvalidInput(f"--out {out}: the directory {out.parent} does not exist")


def publish(stage: Path, out: Path) -> None:
    """Move the staged artifact to ``out`` (replacing an old one only once the new is whole)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    stage.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
