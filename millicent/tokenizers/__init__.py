"""Tokenizers by name: the manifest's ``tokenizer`` spec and the artifact directory build one.

A tokenizer belongs to the artifact (training, evaluation, ``--vocab-from``, store loading,
the planner and serving all get it from there), so the texts a model was trained on and the
texts it serves are split — and keyed in the store — identically. Adding one is a module
with a :class:`~millicent.tokenizers.base.Tokenizer` subclass plus one line in
:data:`TOKENIZERS`.

This module imports nothing beyond the standard library, so the manifest reader can check a
tokenizer's name and version without importing (or compiling) any tokenizer.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer
    from millicent.tokenizers.spec import TokenizerSpec

#: name → (``module:class``, current version). A manifest records the version it was
#: trained with; the runtime refuses another (any output of a tokenizer may change with it).
TOKENIZERS: dict[str, tuple[str, str]] = {
    "ptb": ("millicent.tokenizers.ptb:PTBTokenizer", "ptb-1"),
    "whitespace": ("millicent.tokenizers.whitespace:WhitespaceTokenizer", "whitespace-1"),
    # a transformer's own tokenizer.json (the ``tokenizers`` library, imported when built)
    "hf": ("millicent.tokenizers.hf:HFTokenizer", "hf-1"),
}


def version_of(name: str) -> str | None:
    """The current version of tokenizer ``name`` (None for an unknown name)."""
    entry = TOKENIZERS.get(name)
    return entry[1] if entry is not None else None


def tokenizer_class(name: str) -> type[Tokenizer]:
    """The class of tokenizer ``name`` (its module imported, nothing built)."""
    from millicent.errors import ArtifactError

    try:
        target, _ = TOKENIZERS[name]
    except KeyError:
        raise ArtifactError(f"unknown tokenizer {name!r} (known: {sorted(TOKENIZERS)})") from None
    module_name, _, attr = target.partition(":")
    cls: type[Tokenizer] = getattr(importlib.import_module(module_name), attr)
    return cls


def key_scheme(spec: TokenizerSpec) -> str:
    """How the tokenizer ``spec`` makes its store keys (a store table's identity)."""
    return tokenizer_class(spec.name).scheme(spec)


def make_tokenizer(spec: TokenizerSpec, directory: str | os.PathLike[str] | None = None) -> Tokenizer:
    """The tokenizer ``spec`` names, built with the artifact ``directory`` (where a tokenizer
    keeps its files, e.g. a vocabulary; None for a model not yet written)."""
    cls = tokenizer_class(spec.name)
    return cls(spec, None if directory is None else os.fspath(directory))
