"""Loading a deployed function's word vectors into its DynamoDB table.

All models in one function share one store, so they must agree on the vectors: the
embedding ``source`` recorded in each artifact's manifest (``glove-50`` or a file path),
unless ``--vectors`` names them explicitly. The load itself is the store's bulk loader
(:func:`millicent.store.loader.load_store`): resumable, idempotent and verified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from millicent.errors import ConfigError


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


def make_loader(spec: str, data_dir: str | None = None, progress: bool = True,
                log: Callable[[str], None] = print) -> Callable[[str], int]:
    """A loader for :func:`millicent.deploy.stack.deploy`: store URL in, keys written out."""

    def load(store_url: str) -> int:
        from millicent.data.vectors import load_vectors
        from millicent.progress import displays
        from millicent.store import open_store
        from millicent.store.loader import load_store

        vectors = load_vectors(spec, data_dir=data_dir)
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
