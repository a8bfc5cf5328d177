"""Dataset vocabularies: the tokens as they appear in the (pre-tokenized) data, or as a
model's tokenizer splits its texts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from millicent.data.files import (
    MAX_LISTED,
    Fields,
    Loaded,
    Problem,
    RowError,
    bad_rows_error,
    infer_format,
    iter_records,
    text_value,
)
from millicent.data.paths import PathLike
from millicent.data.sst import SPLITS as SST_SPLITS
from millicent.data.sst import load_sst
from millicent.data.trecqa import SPLITS as TRECQA_SPLITS
from millicent.data.trecqa import load_trecqa
from millicent.errors import DataError, InvalidInput

if TYPE_CHECKING:
    from millicent.runtime.artifact import Manifest

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
                   splits: Sequence[str] | None = None,
                   tokenize: Callable[[str], list[str]] | None = None) -> list[str]:
    """Distinct tokens of a dataset in first-seen order (all splits unless ``splits``):
    split by ``tokenize`` (a model's tokenizer), or the data's own tokens (the files are
    tokenized already) when None."""
    split = tokenize or str.split
    seen: dict[str, None] = {}
    for text in dataset_texts(name, data_dir, splits):
        for tok in split(text):
            seen.setdefault(tok, None)
    return list(seen)


def token_counts(name: str, data_dir: PathLike | None,
                 splits: Sequence[str] | None = None,
                 tokenize: Callable[[str], list[str]] | None = None) -> Counter[str]:
    """How often each token occurs (all splits unless ``splits``; tokens as in
    :func:`dataset_tokens`); ties keep first-seen order."""
    split = tokenize or str.split
    counts: Counter[str] = Counter()
    for text in dataset_texts(name, data_dir, splits):
        counts.update(split(text))
    return counts


def file_tokens(path: PathLike, fmt: str | None = None,
                text_columns: Sequence[str] = ("text",), *,
                tokenize: Callable[[str], list[str]]) -> list[str]:
    """Distinct tokens of a data file's texts (csv/tsv/jsonl/stsa/txt), first-seen order.

    ``text_columns``: the columns (or JSON keys) holding text, e.g. ``("question",
    "answer")`` for a pairs file. Texts go through ``tokenize`` (the model's tokenizer), as
    in training and serving. The file is streamed; a bad row is an error naming its line
    (no rows are dropped), as is a file without any text.
    """
    fmt = infer_format(path, fmt)
    columns = tuple(text_columns)
    fields = Fields(required=columns, positional=("label", columns[-1]))
    seen: dict[str, None] = {}
    bad: Loaded[None] = Loaded(str(path), [], [])
    for item in iter_records(path, fmt, fields):
        try:
            if isinstance(item, Problem):
                raise RowError(item.message)
            for name in columns:
                for tok in tokenize(text_value(item, name)):
                    seen.setdefault(tok, None)
        except RowError as exc:
            bad.bad_rows += 1
            if len(bad.problems) < MAX_LISTED:
                bad.problems.append(Problem(str(path), item.line, str(exc)))
    if bad.bad_rows:
        raise bad_rows_error(bad)
    if not seen:
        raise DataError(f"{path}: no text to take words from", path=str(path))
    return list(seen)


def training_tokens(manifest: Manifest, directory: PathLike | None = None) -> list[str] | None:
    """Distinct tokens of the files a model was trained on (``training.dataset``: train,
    dev, test), split by the model's own tokenizer (built with its artifact ``directory``);
    None when it was not trained on files (the built-in datasets). A recorded file missing
    here is a :class:`DataError`."""
    from millicent.tokenizers import make_tokenizer

    dataset = manifest.training.get("dataset") or {}
    files = [part for part in dataset.values() if isinstance(part, dict) and "file" in part]
    if not files:
        return None
    data = manifest.sections.get("data") or {}
    columns = (("question", "answer") if manifest.role == "rank"
               else (str(data.get("text_column") or "text"),))
    tokenize = make_tokenizer(manifest.tokenizer, directory).tokenize
    seen: dict[str, None] = {}
    for part in files:
        path = Path(str(part["file"]))
        if not path.is_file():
            raise DataError(f"the model was trained on {path}, which is not here; pass its "
                            "training data with --vocab-from FILE", path=str(path))
        seen.update(dict.fromkeys(file_tokens(path, part.get("format"), columns,
                                              tokenize=tokenize)))
    return list(seen)


def _names(name: str) -> list[str]:
    parts = [p.strip() for p in name.split("+") if p.strip()]
    for p in parts:
        if p not in DATASETS:
            raise InvalidInput(f"unknown dataset {p!r}; expected one of {', '.join(DATASETS)}")
    if not parts:
        raise InvalidInput("empty dataset name")
    return parts
