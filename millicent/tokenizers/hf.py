"""The Hugging Face tokenizer (``hf``): a transformer's own ``tokenizer.json``, read with the
``tokenizers`` library, so the served ids equal ``transformers``' fast tokenizer's.

The artifact carries the model's ``tokenizer.json`` unchanged. The file's own padding and
truncation are *not* used (the published files often fix both at 128): padding is off (the
model pads a batch to its longest member) and truncation comes from the manifest's
:attr:`~millicent.tokenizers.spec.TokenizerSpec.max_tokens` — sentence-transformers'
``max_seq_length`` where the model has one, else the model's position limit. A text over
the limit is truncated as sentence-transformers and ``transformers`` truncate it (a pair:
longest first), and :attr:`~millicent.tokenizers.base.Encoding.truncated` says
how many tokens were dropped.

A token's store key is the token string itself (``[CLS]``, ``##ing``, ``Ġthe``): the
token-embedding table is stored one row per vocabulary entry under its token string, so
lookups are verbatim (no case folding, no normalisation; the tokenizer's normalizer has
already run).

``tokenizers`` is imported by the constructor, never by importing this module: the runtime
stays importable without it, and a function serving the CNNs never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from millicent.errors import ArtifactError, missing_extra
from millicent.tokenizers.base import Encoding, Tokenizer

if TYPE_CHECKING:
    from millicent.tokenizers.spec import TokenizerSpec

#: the file the artifact holds (and a Hugging Face model directory holds)
TOKENIZER_FILE = "tokenizer.json"


def load_tokenizers_file(path: Path) -> Any:
    """A ``tokenizers.Tokenizer`` read from ``path``; ArtifactError if it cannot be read,
    ConfigError naming the extra when ``tokenizers`` is not installed."""
    try:
        from tokenizers import Tokenizer as HFFastTokenizer
    except ModuleNotFoundError as exc:
        if exc.name == "tokenizers":
            raise missing_extra("tokenizers", "transformer") from exc
        raise
    if not path.is_file():
        raise ArtifactError(f"tokenizer file missing: {path}")
    try:
        return HFFastTokenizer.from_file(str(path))
    except Exception as exc:  # the library raises a bare Exception for a malformed file
        raise ArtifactError(f"cannot read {path}: {exc}") from exc


class HFTokenizer(Tokenizer):
    """Subword tokens of a Hugging Face ``tokenizer.json``; keys are the token strings."""

    name = "hf"
    pairs = True

    def __init__(self, spec: TokenizerSpec, directory: str | None = None) -> None:
        super().__init__(spec, directory)
        if directory is None:
            raise ArtifactError("the hf tokenizer reads tokenizer.json from the artifact "
                                "directory; none was given")
        self._tok = load_tokenizers_file(Path(directory) / TOKENIZER_FILE)
        self._tok.no_padding()
        self._limit: int | None = spec.max_tokens
        self._truncate(self._limit)
        self._unk = self._unknown_token()

    def _truncate(self, limit: int | None) -> None:
        if limit is None:
            self._tok.no_truncation()
        else:
            # longest_first: what transformers does with truncation=True (pairs too)
            self._tok.enable_truncation(limit, strategy="longest_first")

    def _unknown_token(self) -> str | None:
        model = self._tok.model
        return getattr(model, "unk_token", None)

    @classmethod
    def scheme(cls, spec: TokenizerSpec) -> str:
        """Keys are the vocabulary's token strings, verbatim, whatever the case."""
        return "hf-tokens"

    @property
    def vocab_size(self) -> int:
        """Token ids run from 0 to ``vocab_size - 1`` (added tokens included)."""
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def id_to_token(self, token_id: int) -> str | None:
        """The token string (the store key) of a vocabulary id; None for a hole."""
        token: str | None = self._tok.id_to_token(token_id)
        return token

    def tokenize(self, text: str) -> list[str]:
        """Subword tokens, no special tokens, no limit."""
        if not text.strip():
            return []
        self._truncate(None)
        try:
            tokens: list[str] = self._tok.encode(text, add_special_tokens=False).tokens
        finally:
            self._truncate(self._limit)
        return tokens

    def key(self, token: str) -> str:
        return token

    def vocabulary_key(self, word: str) -> str:
        return word

    def encode(self, text: str) -> Encoding:
        """The text with the model's special tokens, truncated at ``max_tokens``."""
        return self._encoding(self._tok.encode(text), (text,))

    def encode_pair(self, first: str, second: str) -> Encoding:
        """A question–answer pair as one sequence, its token types 0 then 1 (where the model
        has token types), truncated longest first."""
        return self._encoding(self._tok.encode(first, second), (first, second))

    def _encoding(self, enc: Any, texts: tuple[str, ...]) -> Encoding:
        tokens: list[str] = enc.tokens
        ids: list[int] = enc.ids
        truncated = 0
        if self._limit is not None and len(tokens) >= self._limit:
            truncated = self._dropped(texts, len(tokens))
        # keys from the ids, not the shown tokens: a row of the table is the vocabulary's
        # string of its id (they differ only where a model shows an unknown piece as text)
        id_to_token = self._tok.id_to_token
        keys = [id_to_token(i) for i in ids]
        return Encoding(tokens, keys, ids, list(enc.type_ids), truncated)

    def _dropped(self, texts: tuple[str, ...], kept: int) -> int:
        """Tokens the limit dropped: the text encoded again without it (only for texts that
        reach the limit, so ordinary texts are encoded once)."""
        self._truncate(None)
        try:
            full = len(self._tok.encode(*texts).ids)
        finally:
            self._truncate(self._limit)
        return full - kept
