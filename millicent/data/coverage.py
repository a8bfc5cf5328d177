"""How much of a training set's text a table of word vectors covers.

Recorded in the manifest at training time: the share of training *tokens* that have a
vector, the share of distinct *words* (vector keys) that have one, and the most frequent
words without one — the first thing to look at when a model trained on one's own data
and vectors does badly (a tokenizer that disagrees with the vectors, a cased table
looked up in lower case, another language ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from millicent.types import KeyFunction

#: missing words listed
TOP_MISSING = 20


@dataclass(frozen=True)
class Coverage:
    """Token and word coverage of some text by a set of vector keys."""

    tokens: int
    tokens_covered: int
    words: int
    words_covered: int
    missing: list[tuple[str, int]] = field(default_factory=list)  # most frequent first

    @property
    def token_share(self) -> float:
        return self.tokens_covered / self.tokens if self.tokens else 0.0

    @property
    def word_share(self) -> float:
        return self.words_covered / self.words if self.words else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``embedding.coverage``."""
        return {
            "tokens": self.tokens, "tokens_covered": self.tokens_covered,
            "token_share": round(self.token_share, 6),
            "words": self.words, "words_covered": self.words_covered,
            "word_share": round(self.word_share, 6),
            "top_missing": [[w, n] for w, n in self.missing],
        }

    def line(self) -> str:
        """One line for the training log."""
        top = ", ".join(f"{w} ({n})" for w, n in self.missing[:8])
        return (f"vector coverage: {self.token_share:.1%} of {self.tokens:,} tokens, "
                f"{self.word_share:.1%} of {self.words:,} distinct words"
                + (f"; most frequent without a vector: {top}" if top else ""))


def coverage(tokens: Iterable[str], keys: Container[str], key: KeyFunction | None = None,
             top: int = TOP_MISSING) -> Coverage:
    """Coverage of ``tokens`` by the store keys ``keys`` (tokens mapped by the model's
    tokenizer's ``key``, as every lookup does; None: the tokens are keys already); ties
    among the missing words keep first-seen order."""
    counts = Counter(tokens if key is None else (key(t) for t in tokens))
    covered = {w: n for w, n in counts.items() if w in keys}
    missing = [(w, n) for w, n in counts.items() if w not in covered]
    missing.sort(key=lambda wn: -wn[1])  # stable: first seen wins a tie
    return Coverage(
        tokens=sum(counts.values()), tokens_covered=sum(covered.values()),
        words=len(counts), words_covered=len(covered), missing=missing[:top])
