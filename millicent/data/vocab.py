"""Dataset vocabularies: the tokens exactly as they appear in the (pre-tokenized) data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from millicent.data.paths import PathLike
from millicent.data.sst import SPLITS as SST_SPLITS
from millicent.data.sst import load_sst
from millicent.data.trecqa import SPLITS as TRECQA_SPLITS
from millicent.data.trecqa import load_trecqa
from millicent.errors import InvalidInput

DATASETS = ("sst-1", "sst-2", "trecqa")


def dataset_texts(name: str, data_dir: PathLike | None,
                  splits: Sequence[str] | None = None) -> Iterator[str]:
    """Every text of a dataset, split by split (``splits`` defaults to all of them).

    ``name`` may join several datasets with ``+`` (``"sst-1+trecqa"``). SST uses the
    ``stsa`` files; TrecQA yields each pair's question then its answer.
    """
    for part in _names(name):
        if part == "trecqa":
            for split in splits or TRECQA_SPLITS:
                for pair in load_trecqa(data_dir, split):
                    yield pair.question
                    yield pair.answer
        else:
            for split in splits or SST_SPLITS:
                for ex in load_sst(data_dir, part, split):
                    yield ex.text


def dataset_tokens(name: str, data_dir: PathLike | None,
                   splits: Sequence[str] | None = None) -> list[str]:
    """Distinct tokens of a dataset in first-seen order (all splits unless ``splits``)."""
    seen: dict[str, None] = {}
    for text in dataset_texts(name, data_dir, splits):
        for tok in text.split():
            seen.setdefault(tok, None)
    return list(seen)


def token_counts(name: str, data_dir: PathLike | None,
                 splits: Sequence[str] | None = None) -> Counter[str]:
    """How often each token occurs (all splits unless ``splits``); ties keep first-seen order."""
    counts: Counter[str] = Counter()
    for text in dataset_texts(name, data_dir, splits):
        counts.update(text.split())
    return counts


def _names(name: str) -> list[str]:
    parts = [p.strip() for p in name.split("+") if p.strip()]
    for p in parts:
        if p not in DATASETS:
            raise InvalidInput(f"unknown dataset {p!r}; expected one of {', '.join(DATASETS)}")
    if not parts:
        raise InvalidInput("empty dataset name")
    return parts
