"""Frequency-ranked words, to choose what goes into the in-function frequent-word pack.

Every source returns distinct *store keys* — made by the model's tokenizer, as its pack and
store hold them — most frequent first, so the first K of them are what a K-word pack should
hold.
"""

from __future__ import annotations

import gzip
from collections import Counter
from typing import TYPE_CHECKING

from millicent.data.paths import PathLike, data_file
from millicent.data.vectors import GLOVE50_DERIVED, glove_package_root, read_glove_index
from millicent.data.vocab import DATASETS, token_counts
from millicent.errors import ConfigError, DataError, InvalidInput

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer

WORDFREQ_TSV = "wordfreq/derived/en_top50000_large.tsv"
SOURCES = ("glove", "wordfreq", *DATASETS)


def frequency_ranked_words(source: str, data_dir: PathLike | None = None,
                           limit: int | None = None, *, tokenizer: Tokenizer) -> list[str]:
    """Store keys of ``tokenizer`` (the model's) by decreasing frequency.

    ``glove``: GloVe's row order (corpus frequency) — the package's 400k words if
    installed, else the data dir's SST+TrecQA subset — keyed as the tokenizer keys a vector
    file's words. ``wordfreq``: the 50k most frequent English words of wordfreq, each run
    through the tokenizer so they use its conventions (PTB: ``don't`` → ``do``, ``n't``). A
    dataset name (``sst-1``, ``sst-2``, ``trecqa``): token counts of its train split, as the
    tokenizer splits its texts.
    """
    if source == "glove":
        words = _glove_words(data_dir, tokenizer)
    elif source == "wordfreq":
        words = _wordfreq_words(data_dir, tokenizer)
    elif source in DATASETS:
        counts: Counter[str] = Counter()
        for tok, n in token_counts(source, data_dir, splits=["train"],
                                   tokenize=tokenizer.tokenize).items():
            counts[tokenizer.key(tok)] += n
        words = [w for w, _ in counts.most_common()]
    else:
        raise InvalidInput(f"unknown frequency source {source!r}; expected one of {', '.join(SOURCES)}")
    return words if limit is None else words[:limit]


def _dedupe(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


def _glove_words(data_dir: PathLike | None, tokenizer: Tokenizer) -> list[str]:
    key = tokenizer.vocabulary_key
    try:
        root = glove_package_root()
        return _dedupe([key(w) for w in read_glove_index(root / "glove_6B_index.parquet")])
    except ConfigError:
        pass  # no package (or no pyarrow): the subset file keeps GloVe's order too
    path = data_file(data_dir, GLOVE50_DERIVED)

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return _dedupe([key(line.split(" ", 1)[0]) for line in f])


def _wordfreq_words(data_dir: PathLike | None, tokenizer: Tokenizer) -> list[str]:
    path = data_file(data_dir, WORDFREQ_TSV)
    out: list[str] = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:2] != ["rank", "word"]:
            raise DataError(f"{WORDFREQ_TSV}: unexpected header {header}")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                continue
            out.extend(tokenizer.keys(tokenizer.tokenize(fields[1])))
    return _dedupe(out)
