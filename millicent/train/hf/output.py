"""What ``train hf`` leaves in ``--out``: the fine-tuned model as a Hugging Face directory
(``OUT/hf``) and the training record (``OUT/training.json``); the ``train hf`` command then
imports ``OUT/hf`` into ``OUT`` itself (:mod:`millicent.cli._hf_artifact`: the importer is a
sibling of ``train``, so the CLI composes the two).

``OUT/hf`` is a directory ``transformers`` and ``millicent import hf`` read offline:
``config.json`` (with ``id2label``: the classifier's labels in output order, or
``{0: "relevant"}`` for the one-logit rank head), ``model.safetensors`` (every weight,
the token table included — with a frozen table it is the base's, byte for byte), and the
tokenizer: ``tokenizer.json`` without padding and truncating at the training's
``max_length``, ``tokenizer_config.json`` whose ``model_max_length`` says the same, and the
base's ``vocab.txt`` / ``special_tokens_map.json``. Written as ``.hf.tmp`` and renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from millicent.train.hf.base import Base

HF_DIR = "hf"
RECORD = "training.json"
_COPIED = ("vocab.txt", "special_tokens_map.json")



def write_hf_directory(model: Any, base: Base, tokenizer: Any, max_length: int,
                       out: Path) -> Path:
    """Save the model and its tokenizer as ``out/hf``; returns that path."""
    tmp, final = out / ".hf.tmp", out / HF_DIR
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save(str(tmp / "tokenizer.json"))
    for name in _COPIED:
        if (base.path / name).is_file():
            shutil.copyfile(base.path / name, tmp / name)
    config_file = base.path / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    config["model_max_length"] = max_length
    (tmp / "tokenizer_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return final


def table_sha256(model: Any) -> str:
    """sha256 of the token table's rows as float32, row-major, little-endian: the digest
    that names a token table in the store (the importer's ``table_digest``)."""
    weight = model.get_input_embeddings().weight.detach().to(torch.float32).numpy()
    return hashlib.sha256(np.ascontiguousarray(weight, dtype="<f4").tobytes()).hexdigest()


def write_record(out: Path, record: dict[str, Any]) -> Path:
    """``out/training.json`` (written to a temporary file and renamed)."""
    tmp, final = out / (RECORD + ".tmp"), out / RECORD
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, final)
    return final


def read_record(out: Path) -> dict[str, Any]:
    """The training record of a complete run."""
    record: dict[str, Any] = json.loads((out / RECORD).read_text(encoding="utf-8"))
    return record
