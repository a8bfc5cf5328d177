"""Training data as splits: the user's files (``--train/--dev/--test``) or the built-in sets.

Classification (:func:`text_data`): labelled CSV / TSV / JSONL / stsa files read by
:mod:`millicent.data.labelled`; the label order comes from the training file; dev and test
may hold only training labels; without ``--dev`` a seeded stratified 10 % of the training
rows is held out. Ranking (:func:`pair_data`): pairs files, 10 % of the questions held out.
The built-in SST (:func:`sst_data`) and TrecQA Castor (:func:`castor_data`) sets come out
in the same shape, so one training path serves both.

Every file's rows, skipped bad rows, class counts and sha256 go into the manifest's
``training.dataset`` (with the hold-out's rule, seed and lines), so a run can be traced to
its exact inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent.data.files import Loaded, infer_format
from millicent.data.holdout import DEV_FRACTION, question_holdout, stratified_holdout
from millicent.data.labelled import (
    Columns,
    Example,
    check_known,
    class_counts,
    describe_counts,
    label_indices,
    read_labelled,
    training_labels,
)
from millicent.data.pairs import PairColumns, read_pairs
from millicent.data.trecqa import QAPair
from millicent.errors import InvalidInput

Log = Callable[[str], None]


@dataclass(frozen=True)
class FileOptions:
    """Where the user's data is and how to read it (the CLI's data options)."""

    train: str
    dev: str | None = None
    test: str | None = None
    format: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    skip_bad_rows: bool = False
    seed: int = 1


@dataclass
class TextData:
    """Texts and label indices per split (``train``, ``dev``, maybe ``test``)."""

    labels: tuple[str, ...]
    texts: dict[str, list[str]]
    y: dict[str, list[int]]
    dataset: dict[str, Any] = field(default_factory=dict)


@dataclass
class PairData:
    """Question/answer pairs per split (``train``, ``dev``, maybe ``test`` ...)."""

    pairs: dict[str, list[QAPair]]
    dataset: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (recorded beside its name)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _describe(loaded: Loaded[Any], fmt: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"file": loaded.path, "format": fmt, "sha256": file_sha256(loaded.path),
            "rows": len(loaded.rows), "bad_rows_skipped": loaded.bad_rows, **extra}


def _read(path: str, opts: FileOptions, log: Log) -> tuple[Loaded[Example], str]:
    fmt = infer_format(path, opts.format)
    loaded = read_labelled(path, fmt, Columns(opts.text_column, opts.label_column),
                           opts.skip_bad_rows)
    if loaded.bad_rows:
        log(loaded.note())
    return loaded, fmt


def text_data(opts: FileOptions, log: Log = print) -> TextData:
    """The user's labelled files as splits (see the module docstring)."""
    train, fmt = _read(opts.train, opts, log)
    labels = training_labels(train)
    counts = class_counts(train.rows, labels)
    log(f"{opts.train}: {len(train.rows):,} rows, {len(labels)} classes: {describe_counts(counts)}")
    data = TextData(labels, {}, {})
    data.dataset["train"] = _describe(train, fmt, {"class_counts": counts})
    rows = list(range(len(train.rows)))
    if opts.dev is None:
        rows, dev_rows, holdout = stratified_holdout(
            [e.label for e in train.rows], labels, train.lines, DEV_FRACTION, opts.seed)
        data.dataset["dev"] = {"holdout": holdout.to_dict(), "of": "train"}
        data.dataset["train"]["rows_trained"] = len(rows)
        _add(data, "dev", [train.rows[i] for i in dev_rows])
        log(f"dev: {len(dev_rows):,} training rows held out (stratified, seed {opts.seed})")
    for name, path in (("dev", opts.dev), ("test", opts.test)):
        if path is None:
            continue
        split, split_fmt = _read(path, opts, log)
        check_known(split, labels)
        data.dataset[name] = _describe(split, split_fmt,
                                       {"class_counts": class_counts(split.rows, labels)})
        _add(data, name, split.rows)
    _add(data, "train", [train.rows[i] for i in rows])
    order = ("train", "dev", "test")
    data.texts = {k: data.texts[k] for k in order if k in data.texts}
    data.y = {k: data.y[k] for k in order if k in data.y}
    return data


def _add(data: TextData, split: str, examples: Sequence[Example]) -> None:
    data.texts[split] = [e.text for e in examples]
    data.y[split] = label_indices(examples, data.labels)


def rename_labels(data: TextData, names: dict[str, str]) -> list[str]:
    """Give the labels the names the model answers with (``--label-names 0=negative,...``);
    returns the file's label values in label order (recorded, so ``eval --file`` on files
    with the original values still matches). Every label needs a distinct name."""
    values = list(data.labels)
    unknown = sorted(set(names) - set(values))
    if unknown:
        raise InvalidInput(f"--label-names names {unknown}, which the training data does not "
                           f"have (labels: {', '.join(values)})")
    missing = [v for v in values if v not in names]
    if missing:
        raise InvalidInput(f"--label-names gives no name to {missing}")
    renamed = tuple(names[v] for v in values)
    if len(set(renamed)) != len(renamed):
        raise InvalidInput(f"--label-names gives two labels one name: {list(renamed)}")
    data.labels = renamed
    return values


def sst_data(task: str, data_dir: Path | None, train_source: str = "stsa") -> TextData:
    """SST-1 / SST-2 (``stsa`` files; ``glue`` phrases for SST-2 training) as splits, with
    the SST label names."""
    from millicent.data.sst import SST_LABELS, load_sst

    data = TextData(tuple(SST_LABELS[task]), {}, {})
    for split in ("train", "dev", "test"):
        source = train_source if split == "train" else "stsa"
        examples = load_sst(data_dir, task=task, split=split, source=source)
        data.texts[split] = [e.text for e in examples]
        data.y[split] = [e.label for e in examples]
        data.dataset[split] = f"{task} {split} ({source}: {len(examples)} examples)"
    return data


def pair_data(opts: FileOptions, log: Log = print) -> PairData:
    """The user's pairs files as splits; without ``--dev``, 10 % of the questions."""
    if opts.text_column != "text" or opts.label_column != "label":
        raise InvalidInput("pairs files use the columns question, answer, label (and qid)")
    data = PairData({})
    splits: dict[str, Loaded[QAPair]] = {}
    for name, path in (("train", opts.train), ("dev", opts.dev), ("test", opts.test)):
        if path is None:
            continue
        fmt = infer_format(path, opts.format)
        loaded = read_pairs(path, fmt, PairColumns(), opts.skip_bad_rows)
        if loaded.bad_rows:
            log(loaded.note())
        splits[name] = loaded
        questions = len({p.qid for p in loaded.rows})
        data.dataset[name] = _describe(loaded, fmt, {"questions": questions,
                                                     "correct": sum(p.label for p in loaded.rows)})
        data.pairs[name] = loaded.rows
    train = splits["train"]
    if opts.dev is None:
        keep, dev_rows, holdout = question_holdout(
            [p.qid for p in train.rows], [p.label for p in train.rows], train.lines,
            DEV_FRACTION, opts.seed)
        data.pairs["train"] = [train.rows[i] for i in keep]
        data.pairs["dev"] = [train.rows[i] for i in dev_rows]
        data.dataset["dev"] = {"holdout": holdout.to_dict(), "of": "train"}
        data.dataset["train"]["rows_trained"] = len(keep)
        log(f"dev: {holdout.questions} of the training questions held out "
            f"({holdout.rows} pairs, seed {opts.seed})")
    log(f"{opts.train}: {len(train.rows):,} pairs, {data.dataset['train']['questions']:,} questions")
    return data


def castor_data(data_dir: Path | None) -> PairData:
    """TrecQA in Castor format: train, raw-dev as dev, raw-test as test, and the clean sets."""
    from millicent.data.trecqa import load_trecqa

    data = PairData({})
    for name, split in (("train", "train"), ("dev", "raw-dev"), ("test", "raw-test"),
                        ("clean-dev", "clean-dev"), ("clean-test", "clean-test")):
        data.pairs[name] = load_trecqa(data_dir, split)
    data.dataset = {"train": f"trecqa train ({len(data.pairs['train'])} pairs)",
                    "dev": "trecqa raw-dev", "test": "trecqa raw-test (clean-test beside it)"}
    return data
