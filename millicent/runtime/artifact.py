"""The model artifact: a directory the runtime loads without torch and without pickle.

Layout::

    manifest.json    format_version, kind, task, config, labels, embedding {dim, dtype,
                     source, variant}, tokenizer {version}, metrics, training {command, ...}
    weights.npz      the network's arrays (torch parameter names), float32
    embeddings.npz   optional: ``words`` (unicode) + ``matrix`` (float32) — a learned table
                     (non-static / rand) to load into a store; the store serves it, not this
    idf.npz          optional: ``words`` + ``idf`` (float32) for the overlap features

Every ``.npz`` loads with ``allow_pickle=False``; the runtime refuses a format version it
does not know rather than guessing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ArtifactError

#: The artifact format this runtime reads and writes.
FORMAT_VERSION = 1
#: Model kinds the runtime can rebuild.
KINDS = ("kim_cnn", "sm_cnn")

MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
EMBEDDINGS = "embeddings.npz"
IDF = "idf.npz"


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact file missing: {path}") from exc
    except (OSError, ValueError) as exc:  # corrupt zip, object arrays (pickle refused)
        raise ArtifactError(f"cannot read {path}: {exc}") from exc


@dataclass
class Artifact:
    """A loaded artifact: its manifest and weights (optional tables are read on demand)."""

    path: Path
    manifest: dict[str, Any]
    weights: dict[str, np.ndarray]

    @property
    def kind(self) -> str:
        """``"kim_cnn"`` or ``"sm_cnn"``."""
        return str(self.manifest["kind"])

    @property
    def dim(self) -> int:
        """Embedding dimension the network expects."""
        return int(self.manifest["embedding"]["dim"])

    def weight(self, name: str) -> np.ndarray:
        """One weight array as float32, or ArtifactError naming what is missing."""
        try:
            return np.ascontiguousarray(self.weights[name], dtype=np.float32)
        except KeyError as exc:
            raise ArtifactError(f"{self.path / WEIGHTS} lacks array {name!r}") from exc

    def embedding_table(self) -> tuple[list[str], np.ndarray] | None:
        """The exported learned embedding table ``(words, matrix)``, or None if absent."""
        path = self.path / EMBEDDINGS
        if not path.exists():
            return None
        arrays = _load_npz(path)
        try:
            words = [str(w) for w in arrays["words"]]
            matrix = np.ascontiguousarray(arrays["matrix"], dtype=np.float32)
        except KeyError as exc:
            raise ArtifactError(f"{path} must hold arrays 'words' and 'matrix'") from exc
        if matrix.shape != (len(words), self.dim):
            raise ArtifactError(
                f"{path}: matrix shape {matrix.shape} != ({len(words)}, {self.dim})"
            )
        return words, matrix

    def idf_table(self) -> tuple[list[str], np.ndarray] | None:
        """The exported IDF table ``(words, idf)``, or None if absent."""
        path = self.path / IDF
        if not path.exists():
            return None
        arrays = _load_npz(path)
        try:
            return [str(w) for w in arrays["words"]], arrays["idf"].astype(np.float32)
        except KeyError as exc:
            raise ArtifactError(f"{path} must hold arrays 'words' and 'idf'") from exc


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Read an artifact directory; ArtifactError if missing, malformed or of unknown version."""
    root = Path(path)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"no artifact at {root}: {MANIFEST} not found") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {manifest_path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path} must hold a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_path}: unknown artifact format version {version!r}; this runtime "
            f"reads version {FORMAT_VERSION} (re-export the model with this millicent)",
            format_version=version,
        )
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise ArtifactError(f"{manifest_path}: unknown model kind {kind!r} (known: {KINDS})")
    emb = manifest.get("embedding")
    if not isinstance(emb, dict) or not isinstance(emb.get("dim"), int):
        raise ArtifactError(f"{manifest_path}: 'embedding.dim' missing")
    return Artifact(path=root, manifest=manifest, weights=_load_npz(root / WEIGHTS))


def save_artifact(
    path: str | os.PathLike[str],
    manifest: dict[str, Any],
    weights: dict[str, np.ndarray],
    embeddings: tuple[list[str], np.ndarray] | None = None,
    idf: tuple[list[str], np.ndarray] | None = None,
) -> Path:
    """Write an artifact directory (created if needed); returns its path.

    The format version is stamped here so every writer agrees with :func:`load_artifact`.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"format_version": FORMAT_VERSION, **manifest}
    # typed as Any: numpy's stubs mistake ``**arrays`` for its keyword options
    savez: Any = np.savez
    savez_compressed: Any = np.savez_compressed
    savez(root / WEIGHTS, **{k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
    for name, table in ((EMBEDDINGS, embeddings), (IDF, idf)):
        target = root / name
        if table is None:
            target.unlink(missing_ok=True)  # never leave a stale table from an earlier run
            continue
        words, values = table
        key = "matrix" if name == EMBEDDINGS else "idf"
        savez_compressed(
            target, words=np.array(words, dtype=np.str_), **{key: values.astype(np.float32)}
        )
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return root
