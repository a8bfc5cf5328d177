"""The one loader of a model's table of word vectors, wherever
:func:`millicent.runtime.artifact.vectors_source` says it lives.

* a pretrained source (``glove-50``, a vector file): read with :func:`~millicent.data.vectors.load_vectors`,
  in the file's own row order (GloVe-style files are in corpus-frequency order);
* an artifact's learned table (``embeddings.npz``): its rows ranked most frequent first by
  the token counts of the model's training task when millicent knows the task (a learned
  table is in the order its words were first met in training), else in table order;
* a transformer's token table (``millicent import hf``): read in place from the model's
  safetensors by :func:`millicent.data.token_table.token_table`, one row per vocabulary
  token under its token string, ranked by wordfreq's words run through the tokenizer.

Most frequent first matters: the frequent-word pack takes the first rows that fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from millicent.data.paths import PathLike
from millicent.data.vectorfile import wanted_keys
from millicent.data.vectors import Vectors, load_vectors
from millicent.runtime.artifact import read_table
from millicent.types import VectorsSource

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer


def load_table(source: VectorsSource, data_dir: PathLike | None = None,
               vocab: Iterable[str] | None = None, by_frequency: bool = True, *,
               tokenizer: Tokenizer) -> Vectors:
    """The vectors of ``source`` under their store keys — made by the model's ``tokenizer``
    (its ``vocabulary_key``) — most frequent first; ``vocab``: keep only the rows of these
    tokens' keys. ``by_frequency=False``: a learned table in its own order (a store does
    not care, and ranking reads the task's training data)."""
    key = tokenizer.vocabulary_key
    if source.token_table is not None:
        return _token_rows(source, data_dir, vocab, by_frequency, tokenizer)
    if source.learned_table is None:
        return load_vectors(source.spec, data_dir, vocab=vocab, key=key)
    words, matrix = read_table(source.learned_table, source.dim)
    if by_frequency:
        order = _frequency_order(words, source.task, data_dir, tokenizer)
    else:
        order = list(range(len(words)))
    wanted = wanted_keys(vocab, key)
    keys: dict[str, int] = {}  # key → row; the first row of a key wins, as in every store
    for i in order:
        k = key(words[i])
        if k not in keys and (wanted is None or k in wanted):
            keys[k] = i
    rows = np.asarray(list(keys.values()), dtype=np.int64)
    return Vectors(list(keys), matrix[rows] if len(rows) else matrix[:0])


def _token_rows(source: VectorsSource, data_dir: PathLike | None, vocab: Iterable[str] | None,
                by_frequency: bool, tokenizer: Tokenizer) -> Vectors:
    """A token table; ``vocab``: keep the rows of the tokens these words are made of (and
    the tokens every sequence has, [CLS] / [SEP]) — and of the items that are tokens
    themselves: ``tokenize()``'s pieces (``##ing``), which encoded again as a word would
    lose their continuation mark and their row."""
    from millicent.data.token_table import token_table

    table = token_table(source, data_dir, by_frequency)
    if vocab is None:
        return table
    words = set(vocab)
    wanted = {k for word in words for k in tokenizer.encode(word).keys}
    wanted.update(tokenizer.keys(list(words)))
    rows = [i for i, k in enumerate(table.words) if k in wanted]
    return Vectors([table.words[i] for i in rows], table.matrix[np.asarray(rows, dtype=np.int64)])


def ranking(source: VectorsSource) -> str:
    """How :func:`load_table` orders the words (recorded in a pack's header)."""
    if source.token_table is not None:
        return "wordfreq tokens"
    if source.learned_table is None:
        return "glove"
    return f"{source.task} train counts" if _ranked(source.task) else "table order"


def _ranked(task: str | None) -> bool:
    from millicent.data.frequency import SOURCES

    return task in SOURCES


def _frequency_order(words: list[str], task: str | None, data_dir: PathLike | None,
                     tokenizer: Tokenizer) -> list[int]:
    if task is None or not _ranked(task):
        return list(range(len(words)))
    from millicent.data.frequency import frequency_ranked_words

    rank = {k: i for i, k in enumerate(frequency_ranked_words(task, data_dir,
                                                              tokenizer=tokenizer))}
    last = len(rank)
    key = tokenizer.vocabulary_key
    # ranked words first (by training count), the rest after them in table order
    return sorted(range(len(words)), key=lambda i: (rank.get(key(words[i]), last), i))
