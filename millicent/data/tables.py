"""The one loader of a model's table of word vectors, wherever
:func:`millicent.runtime.artifact.vectors_source` says it lives.

* a pretrained source (``glove-50``, a vector file): read with :func:`~millicent.data.vectors.load_vectors`,
  in the file's own row order (GloVe-style files are in corpus-frequency order);
* an artifact's learned table (``embeddings.npz``): its rows ranked most frequent first by
  the token counts of the model's training task when millicent knows the task (a learned
  table is in the order its words were first met in training), else in table order.

Most frequent first matters: the frequent-word pack takes the first rows that fit.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from millicent.data.paths import PathLike
from millicent.data.vectors import Vectors, load_vectors
from millicent.runtime.artifact import read_table
from millicent.types import VectorsSource
from millicent.words import vector_key


def load_table(source: VectorsSource, data_dir: PathLike | None = None,
               vocab: Iterable[str] | None = None, by_frequency: bool = True) -> Vectors:
    """The vectors of ``source`` (keys: vector keys), most frequent first; ``vocab``: keep
    only the rows of these tokens' keys. ``by_frequency=False``: a learned table in its own
    order (a store does not care, and ranking reads the task's training data)."""
    if source.learned_table is None:
        return load_vectors(source.spec, data_dir, vocab=vocab, lowercase=source.lowercase)
    words, matrix = read_table(source.learned_table, source.dim)
    if by_frequency:
        order = _frequency_order(words, source.task, data_dir)
    else:
        order = list(range(len(words)))
    if vocab is not None:
        wanted = {vector_key(t, source.lowercase) for t in vocab}
        order = [i for i in order if vector_key(words[i], source.lowercase) in wanted]
    rows = np.asarray(order, dtype=np.int64)
    return Vectors([words[i] for i in order], matrix[rows] if len(rows) else matrix[:0])


def ranking(source: VectorsSource) -> str:
    """How :func:`load_table` orders the words (recorded in a pack's header)."""
    if source.learned_table is None:
        return "glove"
    return f"{source.task} train counts" if _ranked(source.task) else "table order"


def _ranked(task: str | None) -> bool:
    from millicent.data.frequency import SOURCES

    return task in SOURCES


def _frequency_order(words: list[str], task: str | None, data_dir: PathLike | None) -> list[int]:
    if not _ranked(task):
        return list(range(len(words)))
    from millicent.data.frequency import frequency_ranked_words

    assert task is not None  # _ranked
    rank = {k: i for i, k in enumerate(frequency_ranked_words(task, data_dir))}
    last = len(rank)
    # ranked words first (by training count), the rest after them in table order
    return sorted(range(len(words)), key=lambda i: (rank.get(vector_key(words[i]), last), i))
