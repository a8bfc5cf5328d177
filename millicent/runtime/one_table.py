"""One function, one table of vectors: the rule every tool that puts models together applies.

A function has one store and one pack (the frequent words of one table), so the models it
serves must read the same vectors, keyed the same way: the same pretrained source, the same
dimension, the same tokenizer ``key_scheme`` (``Great`` and ``great`` are one key or two).
A model's own learned table (``embeddings.npz``) is shared with no other model. The
function's INIT (:func:`millicent.runtime.environment.load_models`), ``millicent serve``,
``millicent package`` and ``bench --compare`` all refuse a mix with the same message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from millicent.errors import ConfigError
from millicent.runtime.artifact import Manifest, read_manifest, vectors_source
from millicent.tokenizers import key_scheme

Paths = Mapping[str, "str | os.PathLike[str]"]


def check_one_table(manifests: Mapping[str, Manifest], paths: Paths | None = None) -> None:
    """ConfigError unless the models (their manifests; ``paths``: their artifact
    directories, to name a learned table) read one table of vectors."""
    def identity(name: str, m: Manifest) -> tuple[str, ...]:
        if m.learned_table:
            return ("learned", name)  # never shared, even by the same table
        return (m.embedding.source, str(m.dim), key_scheme(m.tokenizer))

    if len({identity(n, m) for n, m in manifests.items()}) > 1:
        raise ConfigError(_message(manifests, paths or {}))


def _message(manifests: Mapping[str, Manifest], paths: Paths) -> str:
    def label(name: str, m: Manifest) -> str:
        if m.learned_table and name in paths:
            return vectors_source(paths[name], m).label
        return m.embedding.source

    described = ", ".join(f"{n}: {label(n, m)} ({m.dim}-d, {key_scheme(m.tokenizer)} keys)"
                          for n, m in manifests.items())
    learned = [f"{n}: its own learned table" for n, m in manifests.items() if m.learned_table]
    return ("the models must share one table of vectors (one function has one store and one "
            f"pack), got {described}" + (f" ({'; '.join(learned)})" if learned else "")
            + ": deploy, serve or compare them as separate functions")


def one_table(paths: Paths) -> Mapping[str, Manifest]:
    """The manifests of the artifacts at ``paths`` (by model name), checked to read one
    table of vectors (:func:`check_one_table`)."""
    manifests = {name: read_manifest(path) for name, path in paths.items()}
    check_one_table(manifests, paths)
    return manifests
