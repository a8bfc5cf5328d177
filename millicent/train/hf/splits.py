"""The data of a ``train hf`` run: the splits read as ``train kim`` / ``train sm`` read them,
encoded with the base model's tokenizer.

Classification reads labelled files with :func:`millicent.train.data.text_data` (the
label order, the stratified hold-out without ``--dev``, unknown dev / test labels refused,
bad rows named by file and line) or the built-in SST sets; ``--label-names`` renames the
labels as for the Kim CNN. Ranking reads pairs files with
:func:`millicent.train.data.pair_data` (a question's answers held out together) or TrecQA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent.data.trecqa import QAPair
from millicent.train.data import (
    castor_data,
    file_sha256,
    pair_data,
    rename_labels,
    sst_data,
    text_data,
)
from millicent.train.hf.base import RANK_LABELS
from millicent.train.hf.encode import Encoded, encode_pairs, encode_texts
from millicent.train.hf.options import HFOptions


@dataclass
class Splits:
    """Each split encoded, with its gold labels (class indices, or 0/1 relevance)."""

    labels: tuple[str, ...]  #: the model's outputs: class names, or ("relevant",)
    encoded: dict[str, Encoded]
    gold: dict[str, list[int]]
    pairs: dict[str, list[QAPair]] = field(default_factory=dict)  #: ranking only
    dataset: dict[str, Any] = field(default_factory=dict)  #: files, rows, sha256, hold-out
    data_section: dict[str, Any] = field(default_factory=dict)  #: how the labels were read

    def truncated(self) -> dict[str, int]:
        return {name: e.truncated for name, e in self.encoded.items() if e.truncated}


def file_digests(opts: HFOptions) -> dict[str, str]:
    """sha256 of each data file given (part of the run's identity)."""
    if opts.data is None:
        return {}
    files = {"train": opts.data.train, "dev": opts.data.dev, "test": opts.data.test}
    return {name: file_sha256(path) for name, path in files.items()
            if path is not None and Path(path).is_file()}


def load_splits(opts: HFOptions, data_dir: Path | None, tokenizer: Any) -> Splits:
    """Read and encode the run's data."""
    if opts.task == "rank":
        return _pairs(opts, data_dir, tokenizer)
    data = text_data(opts.data) if opts.data is not None else sst_data(str(opts.dataset), data_dir)
    values = rename_labels(data, opts.label_names) if opts.label_names else None
    section: dict[str, Any] = {"label_values": values or list(data.labels)}
    if opts.data is not None:
        section.update(format=opts.data.format, text_column=opts.data.text_column,
                       label_column=opts.data.label_column)
    encoded = {name: encode_texts(tokenizer, texts) for name, texts in data.texts.items()}
    return Splits(tuple(data.labels), encoded, dict(data.y), dataset=data.dataset,
                  data_section=section)


def _pairs(opts: HFOptions, data_dir: Path | None, tokenizer: Any) -> Splits:
    data = pair_data(opts.data) if opts.data is not None else castor_data(data_dir)
    section = {"format": opts.data.format} if opts.data is not None else {}
    return Splits(RANK_LABELS,
                  {name: encode_pairs(tokenizer, pairs) for name, pairs in data.pairs.items()},
                  {name: [p.label for p in pairs] for name, pairs in data.pairs.items()},
                  pairs=data.pairs, dataset=data.dataset, data_section=section)
