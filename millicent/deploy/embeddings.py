"""Loading a deployed function's word vectors into its DynamoDB table.

All models in one function share one store, so they must agree on the vectors: the
embedding ``source`` recorded in each artifact's manifest (``glove-50`` or a file path),
unless ``--vectors`` names them explicitly — and on their keys: the words are keyed by the
models' tokenizer (:func:`key_tokenizer`). The load itself is the store's bulk loader
(:func:`millicent.store.loader.load_store`): resumable, idempotent and verified.
"""

from __future__ import annotations

from collections.abc import Callable
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
