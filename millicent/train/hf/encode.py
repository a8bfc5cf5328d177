"""Texts and question/answer pairs as token ids, with the base model's ``tokenizer.json``.

The tokenizer is the one the served function runs (the ``tokenizers`` library reading the
same file), with the file's own padding removed and truncation set to ``max_length``
tokens, special tokens included: a pair is cut longest-first (the longer of question and
answer loses tokens first, as ``BertTokenizerFast`` does with ``truncation=True``). A
pair is one sequence ``[CLS] question [SEP] answer [SEP]`` whose token types are 0 for
the question part and 1 for the answer part (the template in ``tokenizer.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.data.trecqa import QAPair
from millicent.errors import InvalidInput


@dataclass(frozen=True)
class Encoded:
    """One split's token ids and token types; ``truncated``: how many were cut."""

    ids: list[list[int]]
    type_ids: list[list[int]]
    truncated: int

    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)


def load_tokenizer(path: Path, max_length: int) -> Any:
    """``tokenizer.json`` of a model directory, unpadded, truncating at ``max_length``."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    except Exception as exc:  # the library raises plain Exception on a malformed file
        raise InvalidInput(f"{path / 'tokenizer.json'}: not a tokenizers file ({exc})") from exc
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    return tokenizer


def pad_id(tokenizer: Any) -> int:
    """The id of the padding token (``[PAD]``, else ``<pad>``, else 0)."""
    for token in ("[PAD]", "<pad>"):
        i = tokenizer.token_to_id(token)
        if i is not None:
            return int(i)
    return 0


def _encoded(encodings: Sequence[Any]) -> Encoded:
    return Encoded([list(e.ids) for e in encodings], [list(e.type_ids) for e in encodings],
                   sum(1 for e in encodings if e.overflowing))


def encode_texts(tokenizer: Any, texts: Sequence[str]) -> Encoded:
    """Single texts: ``[CLS] text [SEP]``."""
    return _encoded(tokenizer.encode_batch(list(texts)))


def encode_pairs(tokenizer: Any, pairs: Sequence[QAPair]) -> Encoded:
    """Question/answer pairs as one sequence each, with token types."""
    return _encoded(tokenizer.encode_batch([(p.question, p.answer) for p in pairs]))
