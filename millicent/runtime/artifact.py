"""The model artifact: a directory the runtime loads without torch and without pickle.

Layout::

    manifest.json    the typed :class:`Manifest` (format version, kind, role, labels,
                     embedding, tokenizer, config, metrics, training, kind-specific sections)
    weights.npz      the network's arrays (torch parameter names), float32 — numpy kinds
    model.onnx       the graph (and its external data file, if any) — the ``onnx`` kind
    embeddings.npz   optional: ``words`` (unicode) + ``matrix`` (float32) — a learned table
                     (non-static / rand / an imported one) to load into a store; the store
                     serves it, not this
    idf.npz          optional: ``words`` + ``idf`` (float32) for the overlap features

Every ``.npz`` loads with ``allow_pickle=False``; the runtime refuses a format version it
does not know rather than guessing. :func:`vectors_source` is the one answer to "where do
this artifact's word vectors come from" for every layer.

Format versions: 2 (written now) adds ``role`` and the tokenizer's ``name`` and
``lowercase``; a version-1 manifest reads as the PTB tokenizer, lower-cased, with the role
of its kind (Kim CNN classifies, SM CNN ranks; an ONNX manifest must say).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from millicent.errors import ArtifactError
from millicent.runtime.kinds import KINDS, WEIGHTLESS
from millicent.tokenizers import key_scheme
from millicent.tokenizers.spec import TokenizerSpec
from millicent.types import ROLES, TOKEN_TABLE, Role, TokenTable, VectorsSource

#: The artifact format this runtime writes, and those it reads.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

#: the role of the kinds that have only one, when a manifest does not say (version 1)
_KIND_ROLES: dict[str, Role] = {"kim_cnn": "classify", "sm_cnn": "rank"}
#: ``embedding.source`` of an artifact that carries its own learned table
LEARNED = "artifact"

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


@dataclass(frozen=True)
class EmbeddingSpec:
    """The word vectors the network reads: their dimension, precision and origin."""

    dim: int
    dtype: str = "float32"
    #: a vector spec (``glove-50``, a file) or :data:`LEARNED` (the artifact's own table)
    source: str = ""
    variant: str = "static"  #: static | non-static | rand | learned
    pretrained: str | None = None
    words: int | None = None
    #: share of training tokens / distinct words with a vector, recorded at training time
    coverage: dict[str, Any] | None = None
    #: a transformer's token table, read in place (``millicent import hf``): ``tensor``,
    #: ``sha256`` (of the float32 rows), ``rows``, ``catalog`` (the data directory's copy,
    #: or null), ``path`` (the file imported from)
    table: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str) -> EmbeddingSpec:
        if not isinstance(d, dict) or not isinstance(d.get("dim"), int) or d["dim"] < 1:
            raise ArtifactError(f"{where}: 'embedding.dim' missing")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in out.items() if v is not None or k == "pretrained"}


#: top-level keys the typed fields hold; anything else is kept in ``sections``
_TYPED = ("format_version", "kind", "role", "name", "task", "config", "labels", "embedding",
          "tokenizer", "features", "metrics", "training")


@dataclass(frozen=True)
class Manifest:
    """An artifact's ``manifest.json``, typed; read by every layer, written by training/import."""

    kind: str
    role: Role
    embedding: EmbeddingSpec
    labels: tuple[str, ...] = ()
    tokenizer: TokenizerSpec = field(default_factory=TokenizerSpec)
    task: str = ""
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    #: kind-specific sections (``onnx``, ``data`` ...), kept as they are
    sections: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def dim(self) -> int:
        return self.embedding.dim

    @property
    def learned_table(self) -> bool:
        """Whether the vectors are the artifact's own ``embeddings.npz``."""
        return self.embedding.source == LEARNED

    @classmethod
    def from_dict(cls, d: Any, where: str = MANIFEST) -> Manifest:
        """Validate a decoded manifest; ArtifactError naming what is wrong."""
        if not isinstance(d, dict):
            raise ArtifactError(f"{where} must hold a JSON object")
        version = d.get("format_version", FORMAT_VERSION)
        if version not in READABLE_VERSIONS:
            raise ArtifactError(
                f"{where}: unknown artifact format version {version!r}; this runtime reads "
                f"versions {list(READABLE_VERSIONS)} (re-export the model with this millicent)",
                format_version=version)
        kind = d.get("kind")
        if kind not in KINDS:
            raise ArtifactError(f"{where}: unknown model kind {kind!r} (known: {tuple(KINDS)})")
        role = d.get("role", _KIND_ROLES.get(str(kind)))
        if role not in ROLES:
            raise ArtifactError(f"{where}: 'role' must be one of {ROLES}, got {role!r}")
        labels = d.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str | int) for x in labels):
            raise ArtifactError(f"{where}: 'labels' must be a list of names")
        if role == "classify" and not labels:
            raise ArtifactError(f"{where}: a classifier manifest needs 'labels'")
        for name in ("config", "metrics", "training"):
            if not isinstance(d.get(name, {}), dict):
                raise ArtifactError(f"{where}: {name!r} must be an object")
        return cls(
            kind=str(kind), role=cast(Role, role),
            embedding=EmbeddingSpec.from_dict(d.get("embedding"), where),
            labels=tuple(str(x) for x in labels),
            tokenizer=TokenizerSpec.from_dict(d.get("tokenizer", {}), where),
            task=str(d.get("task") or ""), name=str(d.get("name") or ""),
            config=dict(d.get("config") or {}), features=d.get("features") or None,
            metrics=dict(d.get("metrics") or {}), training=dict(d.get("training") or {}),
            sections={k: v for k, v in d.items() if k not in _TYPED},
            format_version=int(version),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (always the current format version: writing upgrades)."""
        out: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": self.kind,
                               "role": self.role}
        if self.name:
            out["name"] = self.name
        out["task"] = self.task
        out["config"] = self.config
        if self.labels:
            out["labels"] = list(self.labels)
        out["embedding"] = self.embedding.to_dict()
        out["tokenizer"] = self.tokenizer.to_dict()
        if self.features:
            out["features"] = self.features
        out["metrics"] = self.metrics
        out["training"] = self.training
        out.update(self.sections)
        return out

    def with_metrics(self, metrics: dict[str, Any]) -> Manifest:
        return replace(self, metrics=metrics)


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest of the artifact directory ``path`` (version and kind checked)."""
    manifest_path = Path(path) / MANIFEST
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"no artifact at {path}: {MANIFEST} not found") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {manifest_path}: {exc}") from exc
    return Manifest.from_dict(raw, str(manifest_path))


def is_artifact(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory holding a manifest (not whether it is valid)."""
    return (Path(path) / MANIFEST).is_file()


@dataclass
class Artifact:
    """A loaded artifact: its manifest and weights (optional tables are read on demand)."""

    path: Path
    manifest: Manifest
    weights: dict[str, np.ndarray]

    @property
    def kind(self) -> str:
        """The model kind (``kim_cnn``, ``sm_cnn``, ``onnx``)."""
        return self.manifest.kind

    @property
    def dim(self) -> int:
        """Embedding dimension the network expects."""
        return self.manifest.dim

    def file(self, name: str) -> Path:
        """A file of the artifact, or ArtifactError if it is missing."""
        path = self.path / name
        if not path.is_file():
            raise ArtifactError(f"artifact file missing: {path}")
        return path

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
        return read_table(path, self.dim)

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


def read_table(path: Path, dim: int | None = None) -> tuple[list[str], np.ndarray]:
    """An ``embeddings.npz`` table ``(words, matrix)``; its shape checked against ``dim``."""
    arrays = _load_npz(path)
    try:
        words = [str(w) for w in arrays["words"]]
        matrix = np.ascontiguousarray(arrays["matrix"], dtype=np.float32)
    except KeyError as exc:
        raise ArtifactError(f"{path} must hold arrays 'words' and 'matrix'") from exc
    if matrix.ndim != 2 or matrix.shape[0] != len(words) or (dim is not None and matrix.shape[1] != dim):
        raise ArtifactError(f"{path}: matrix shape {matrix.shape} != ({len(words)}, {dim})")
    return words, matrix


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Read an artifact directory; ArtifactError if missing, malformed or of unknown version."""
    root = Path(path)
    manifest = read_manifest(root)
    weights = (_load_npz(root / WEIGHTS) if (root / WEIGHTS).exists() or manifest.kind not in WEIGHTLESS
               else {})
    return Artifact(path=root, manifest=manifest, weights=weights)


def save_artifact(
    path: str | os.PathLike[str],
    manifest: Manifest | dict[str, Any],
    weights: dict[str, np.ndarray] | None,
    embeddings: tuple[list[str], np.ndarray] | None = None,
    idf: tuple[list[str], np.ndarray] | None = None,
) -> Path:
    """Write an artifact directory (created if needed); returns its path.

    A dict manifest is validated as a :class:`Manifest` first (so every writer agrees with
    :func:`load_artifact`), and written in the current format version.
    """
    typed = manifest if isinstance(manifest, Manifest) else Manifest.from_dict(
        {"format_version": FORMAT_VERSION, **manifest}, "the manifest to save")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    # typed as Any: numpy's stubs mistake ``**arrays`` for its keyword options
    savez: Any = np.savez
    savez_compressed: Any = np.savez_compressed
    if weights is not None:
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
    (root / MANIFEST).write_text(json.dumps(typed.to_dict(), indent=2) + "\n", encoding="utf-8")
    return root


# ------------------------------------------------------------------ where the vectors are
def _slug(text: str) -> str:
    """A DynamoDB-table-name-safe fragment."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "vectors"


def file_digest(path: Path, n: int = 8) -> str:
    """The first ``n`` hex digits of a file's sha256 (names a learned table's contents)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:n]


def vectors_source(path: str | os.PathLike[str], manifest: Manifest | None = None) -> VectorsSource:
    """Where the word vectors of the artifact at ``path`` come from — the one rule.

    An artifact whose manifest says :data:`LEARNED` serves its own ``embeddings.npz``
    (named by the table's digest, so two different tables never share a store table or
    pack); a transformer's (``embedding.table``) serves its token table, read in place from
    a safetensors file and named by the digest of its rows; any other artifact serves the
    pretrained vectors its manifest names. Either way the source carries its tokenizer's
    ``key_scheme``: the same vectors keyed another way are another table.
    """
    root = Path(path)
    m = manifest if manifest is not None else read_manifest(root)
    if m.embedding.table is not None:
        return _token_table_source(root, m)
    if m.learned_table:
        table = root / EMBEDDINGS
        if not table.is_file():
            raise ArtifactError(f"{root}: the manifest's embedding source is {LEARNED!r} but "
                                f"{EMBEDDINGS} is missing")
        name = root.resolve().name
        digest = file_digest(table)
        return VectorsSource(spec=LEARNED, label=f"artifact:{name}@{digest}",
                             slug=_slug(f"{name}-{digest}"), dim=m.dim, learned_table=table,
                             task=m.task or None, key_scheme=key_scheme(m.tokenizer))
    spec = m.embedding.source
    if not spec:
        raise ArtifactError(f"{root}: the manifest names no embedding source")
    slug = _slug(Path(spec).name if "/" in spec else spec)
    return VectorsSource(spec=spec, label=spec, slug=slug, dim=m.dim, learned_table=None,
                         task=m.task or None, key_scheme=key_scheme(m.tokenizer))


def _token_table_source(root: Path, m: Manifest) -> VectorsSource:
    """A transformer's token table, named by its digest: models with equal tables (one base
    fine-tuned with the table frozen) share the store table and the pack. Where to read it
    (:func:`millicent.data.token_table.locate`) is decided by whoever loads it."""
    t = m.embedding.table or {}
    try:
        digest, tensor, rows = str(t["sha256"]), str(t["tensor"]), int(t["rows"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{root}: 'embedding.table' needs sha256, tensor and rows") from exc
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ArtifactError(f"{root}: 'embedding.table.sha256' is not a sha256")
    path = t.get("path")
    table = TokenTable(sha256=digest, tensor=tensor, rows=rows, catalog=t.get("catalog") or None,
                       path=Path(path) if path else None, tokenizer=root / "tokenizer.json")
    return VectorsSource(spec=TOKEN_TABLE, label=f"{TOKEN_TABLE}:{digest[:16]}",
                         slug=_slug(f"tokens-{digest[:16]}"), dim=m.dim, task=m.task or None,
                         key_scheme=key_scheme(m.tokenizer), token_table=table)
