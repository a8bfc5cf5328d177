"""Loading a deployed function's word vectors into its DynamoDB table.

All models in one function share one store, so they must agree on the vectors: the
embedding ``source`` recorded in each artifact's manifest (``glove-50`` or a file path),
unless ``--vectors`` names them explicitly — and on their keys: the words are keyed by the
models' tokenizer (:func:`key_tokenizer`). The load itself is the store's bulk loader
(:func:`millicent.store.loader.load_store`): resumable, idempotent and verified.

A transformer's token table (``millicent import hf``) is not a vector file: it is read in
place from the model's safetensors, keyed by the artifact's ``tokenizer.json`` — both
named by the artifact the package carries, so :func:`artifact_loader` unpacks that
artifact (or takes ``--vectors ARTIFACT_DIR``) and loads what ``embeddings load`` would.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from millicent.errors import ConfigError

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer


def vectors_spec(package_manifest: dict[str, Any], explicit: str | None = None) -> str:
    """The vectors to load for a package: ``explicit``, else the models' shared source."""
    if explicit:
        return explicit
    sources = {name: str(m.get("embedding", {}).get("source", ""))
               for name, m in package_manifest.get("models", {}).items()}
    distinct = set(sources.values())
    if len(distinct) != 1 or "" in distinct:
        raise ConfigError(
            "the models do not share one embedding source ("
            + ", ".join(f"{n}: {s or '?'}" for n, s in sources.items())
            + "); one function has one table: pass --vectors, or deploy them as separate stacks"
        )
    (spec,) = distinct
    if spec == "artifact":
        raise ConfigError(
            "the model learned its own embedding table (source 'artifact'): pass --vectors with "
            "a vector file of that table, or load it with the store's loader"
        )
    return spec


def key_tokenizer(package_manifest: dict[str, Any]) -> Tokenizer:
    """The tokenizer that keys the package's store: its models' (they must key words the
    same way; a package written before manifests named it: the lower-cased PTB one)."""
    from millicent.runtime.artifact import TokenizerSpec
    from millicent.tokenizers import make_tokenizer

    specs = {name: TokenizerSpec.from_dict(m.get("tokenizer", {}), f"model {name}")
             for name, m in package_manifest.get("models", {}).items()}
    tokenizers = {name: make_tokenizer(s) for name, s in specs.items()}
    schemes = {t.key_scheme for t in tokenizers.values()}
    if len(schemes) > 1:
        raise ConfigError("the models key their words differently ("
                          + ", ".join(f"{n}: {t.key_scheme}" for n, t in tokenizers.items())
                          + "): one function has one table: deploy them as separate stacks")
    return next(iter(tokenizers.values())) if tokenizers else make_tokenizer(TokenizerSpec())


def make_loader(spec: str, data_dir: str | None = None, progress: bool = True,
                log: Callable[[str], None] = print, *,
                tokenizer: Tokenizer) -> Callable[[str], int]:
    """A loader for :func:`millicent.deploy.stack.deploy`: store URL in, keys written out;
    the words keyed by the models' ``tokenizer``."""

    def load(store_url: str) -> int:
        from millicent.data.vectors import load_vectors
        from millicent.progress import displays
        from millicent.store import open_store
        from millicent.store.loader import load_store

        vectors = load_vectors(spec, data_dir=data_dir, key=tokenizer.vocabulary_key)
        log(f"{len(vectors)} vectors of dimension {vectors.dim} from {spec}")
        store = open_store(store_url)
        try:
            report = load_store(store, vectors.words, vectors.matrix, source=spec,
                                progress=displays(progress, unit="words"))
        finally:
            store.close()
        log(f"wrote {report.written} items, {report.unchanged} already there; "
            f"verified: {report.verified} ({report.count} vectors, {report.rate:.0f} items/s)")
        return report.count

    return load


#: the embedding source of a transformer's token table (``runtime.artifact.vectors_source``)
TOKEN_TABLE = "token-table"


def token_table_model(package_manifest: dict[str, Any]) -> str | None:
    """The package path (``artifacts/NAME``) of a model serving a transformer's token table,
    or None when the package's models read pretrained vectors."""
    for m in package_manifest.get("models", {}).values():
        if m.get("embedding", {}).get("source") == TOKEN_TABLE:
            return str(m["path"])
    return None


def artifact_loader(artifact: str | Path, data_dir: str | None = None, progress: bool = True,
                    log: Callable[[str], None] = print, *, package: Path | None = None
                    ) -> Callable[[str], int]:
    """A loader of the table an artifact's manifest names (a token table, a learned table or
    pretrained vectors), keyed by its own tokenizer — what ``millicent embeddings load
    ARTIFACT`` loads. With ``package``, ``artifact`` is the artifact's path inside that
    zip, unpacked into a temporary directory when the loader runs."""

    def load(store_url: str) -> int:
        if package is None:
            return _load_artifact(Path(artifact), store_url, data_dir, progress, log)
        with tempfile.TemporaryDirectory(prefix="millicent-deploy-") as tmp:
            root = _unpack(package, str(artifact), Path(tmp))
            return _load_artifact(root, store_url, data_dir, progress, log)

    return load


def _unpack(package: Path, prefix: str, dest: Path) -> Path:
    """The files of ``prefix/`` inside the zip, written under ``dest`` (their names checked:
    nothing is written outside it)."""
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            rel = PurePosixPath(info.filename)
            if info.is_dir() or not info.filename.startswith(prefix.rstrip("/") + "/"):
                continue
            if ".." in rel.parts or rel.is_absolute():
                raise ConfigError(f"{package}: unsafe member name {info.filename!r}")
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(info))
    root = dest / prefix
    if not (root / "manifest.json").is_file():
        raise ConfigError(f"{package} has no artifact at {prefix}/")
    return root


def _load_artifact(root: Path, store_url: str, data_dir: str | None, progress: bool,
                   log: Callable[[str], None]) -> int:
    from millicent.data.tables import load_table
    from millicent.progress import displays
    from millicent.runtime.artifact import read_manifest, vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store
    from millicent.tokenizers import make_tokenizer

    source = vectors_source(root)
    tokenizer = make_tokenizer(read_manifest(root).tokenizer, root)
    vectors = load_table(source, data_dir, by_frequency=False, tokenizer=tokenizer)
    log(f"{len(vectors)} vectors of dimension {vectors.dim} from {source.label}")
    store = open_store(store_url)
    try:
        report = load_store(store, vectors.words, vectors.matrix, source=source.label,
                            distinct=True, progress=displays(progress, unit="words"))
    finally:
        store.close()
    log(f"wrote {report.written} items, {report.unchanged} already there; "
        f"verified: {report.verified} ({report.count} vectors, {report.rate:.0f} items/s)")
    return report.count
