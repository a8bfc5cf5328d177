"""A directory ``millicent train hf`` wrote brings its training record into the artifact.

``train hf --out OUT`` leaves the fine-tuned model in ``OUT/hf`` and its record in
``OUT/training.json``. Importing ``OUT/hf`` (by ``train hf`` itself, or by hand with
``millicent import hf OUT/hf``) copies into the manifest what serving and ``eval`` need
from it: the ``data`` section (the training file's label values and columns, so ``eval
--file`` finds ``1`` in a stsa file as ``positive``) and the record itself under
``training.fine_tuning`` (the command, history, torch metrics, seconds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from millicent.errors import InvalidInput

#: the record's file name beside the Hugging Face directory (``train hf``'s layout)
RECORD = "training.json"
#: the directory ``train hf`` writes the fine-tuned model to
HF_DIR = "hf"


def training_record(source_dir: Path, labels: tuple[str, ...]) -> dict[str, Any] | None:
    """The record of the ``train hf`` run that wrote ``source_dir``, or None when the
    directory is not such a run's ``hf/``. InvalidInput when the record does not belong
    to the model (its labels differ from the model's)."""
    path = source_dir.resolve().parent / RECORD
    if source_dir.resolve().name != HF_DIR or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable training record: {exc}") from exc
    if not isinstance(record, dict) or record.get("kind") != "hf":
        return None
    if labels and list(labels) != list(record.get("labels") or []):
        raise InvalidInput(f"{path}: its labels {record.get('labels')} are not the model's "
                           f"{list(labels)}: the record belongs to another model")
    return record


def data_section(record: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``data`` section from a classifier's record ({} without one)."""
    data = (record or {}).get("data")
    return dict(data) if isinstance(data, dict) else {}
