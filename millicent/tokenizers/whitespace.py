"""The whitespace tokenizer (``whitespace``): a user's already tokenized text, or a language
PTB's rules do not fit.

Keeps every character but the invisible ones (controls, zero-width, bidi marks), NFC
normalised; lower-cased unless the manifest keeps case. A token's key is the token itself:
no PTB escapes are undone (``-lrb-`` stays ``-lrb-``).
"""

from __future__ import annotations

import unicodedata

from millicent.tokenizers.base import Tokenizer
from millicent.tokenizers.ptb import INVISIBLE


def whitespace_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """NFC-normalised, invisible characters dropped, split on whitespace (and lower-cased)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.translate(INVISIBLE)
    return (text.lower() if lowercase else text).split()


class WhitespaceTokenizer(Tokenizer):
    """Whitespace-separated tokens; keys are the tokens, NFC-normalised (and lower-cased)."""

    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return whitespace_tokenize(text, self.lowercase)

    def key(self, token: str) -> str:
        key = unicodedata.normalize("NFC", token) if not token.isascii() else token
        return key.lower() if self.lowercase else key
