"""What every tokenizer gives: tokens, their store keys, and what a transformer also needs.

An :class:`Encoding` is one text — or a question–answer pair encoded as one sequence — as
the model sees it: ``tokens`` (shown in answers), ``keys`` (one store key per token: the
row of the embedding table the token reads), and, for tokenizers of models that need them,
vocabulary ``ids``, token ``type_ids`` (0 for the first text of a pair, 1 for the second)
and special tokens where the model has them. A sequence over the model's limit is
truncated; ``truncated`` says how many tokens were dropped. Padding is the model's concern
(it pads a batch to its longest member and masks the rest).

Word tokenizers (PTB, whitespace) give tokens and keys only, and encode a pair as two
texts (:attr:`Tokenizer.pairs` is False); subword tokenizers of cross-encoders encode a
pair as one sequence.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from millicent.tokenizers.spec import TokenizerSpec


@dataclass(frozen=True)
class Encoding:
    """One sequence as the model sees it (see the module docstring)."""

    tokens: list[str]
    keys: list[str]
    ids: list[int] | None = None
    type_ids: list[int] | None = None
    #: tokens dropped at the model's limit (0: the text fitted)
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def attention_mask(self) -> list[int]:
        """1 for every token (an unpadded sequence; padding adds the zeros)."""
        return [1] * len(self.tokens)


class Tokenizer(ABC):
    """Splits texts as the model was trained, and names the store key of every token.

    Built from the manifest's spec and the artifact directory by
    :func:`millicent.tokenizers.make_tokenizer`.
    """

    #: the registry name (``ptb``, ``whitespace`` ...)
    name: ClassVar[str]
    #: whether :meth:`encode_pair` encodes a pair as one sequence (cross-encoders)
    pairs: ClassVar[bool] = False

    def __init__(self, spec: TokenizerSpec, directory: str | None = None) -> None:
        self.spec = spec
        self.directory = directory

    @property
    def lowercase(self) -> bool:
        """Whether tokens (and so keys) are lower-cased."""
        return self.spec.lowercase

    @property
    def max_tokens(self) -> int | None:
        """The model's sequence limit (special tokens included), None when it has none."""
        return self.spec.max_tokens

    @property
    def key_scheme(self) -> str:
        """How vocabulary words become store keys (part of a store table's identity: two
        tokenizers share a table only if their schemes are equal)."""
        return self.scheme(self.spec)

    @classmethod
    def scheme(cls, spec: TokenizerSpec) -> str:
        """:attr:`key_scheme` of the tokenizer ``spec`` would build, without building it
        (a subclass whose keys depend on more than name and case overrides this)."""
        return f"{cls.name}-{'lower' if spec.lowercase else 'cased'}"

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` (``[]`` for blank text), no special tokens, no limit."""

    @abstractmethod
    def key(self, token: str) -> str:
        """The store key of one token."""

    def keys(self, tokens: Sequence[str]) -> list[str]:
        """The store key of each token."""
        key = self.key
        return [key(t) for t in tokens]

    def vocabulary_key(self, word: str) -> str:
        """The key under which a vector file's (or a table's) ``word`` is stored."""
        return self.key(word)

    def encode(self, text: str) -> Encoding:
        """``text`` as the model sees it."""
        tokens = self.tokenize(text)
        return Encoding(tokens, self.keys(tokens))

    def encode_all(self, texts: Sequence[str]) -> list[Encoding]:
        """:meth:`encode` of each text (a tokenizer with a faster batch path overrides it)."""
        return [self.encode(t) for t in texts]

    def encode_pair(self, first: str, second: str) -> Encoding:
        """A question–answer pair as one sequence (only where :attr:`pairs`)."""
        raise TypeError(f"the {self.name!r} tokenizer encodes texts one at a time, not pairs")

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)
