"""Mapping from tokens to embedding keys (base layer, shared by runtime, store and loaders).

The data (and millicent's tokenizer, to match it) writes brackets and a few symbols as Penn
Treebank escapes: ``-lrb-`` for ``(``, ``\\/`` for ``/`` ... GloVe and word2vec contain the
plain characters, so tokens are mapped back before any vector lookup; otherwise every
bracket would become a zero vector.
"""

from __future__ import annotations

import unicodedata

#: PTB escape token -> the character the vector vocabularies contain.
PTB_UNESCAPE: dict[str, str] = {
    "-lrb-": "(",
    "-rrb-": ")",
    "-lsb-": "[",
    "-rsb-": "]",
    "-lcb-": "{",
    "-rcb-": "}",
}


def vector_key(token: str, lowercase: bool = True) -> str:
    """The key under which ``token``'s vector is stored.

    NFC-normalised, lower-cased (unless ``lowercase`` is False: a cased model's tokenizer
    keeps case, and so must its keys), PTB bracket escapes mapped to brackets and backslash
    escapes (``\\/``, ``\\*``) removed. Idempotent: ``vector_key(vector_key(t)) == vector_key(t)``.
    """
    key = unicodedata.normalize("NFC", token)
    if lowercase:
        key = key.lower()
    mapped = PTB_UNESCAPE.get(key if lowercase else key.lower())
    if mapped is not None:
        return mapped
    if "\\" in key:
        key = key.replace("\\/", "/").replace("\\*", "*")
    return key
