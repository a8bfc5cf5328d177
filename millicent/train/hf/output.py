"""What ``train hf`` leaves in ``--out``: the fine-tuned model as a Hugging Face directory
(``OUT/hf``), the training record (``OUT/training.json``), and the servable millicent
artifact in ``OUT`` itself (:func:`make_artifact`: ``manifest.json``, ``model.onnx``,
``tokenizer.json``).

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

from millicent.runtime.artifact import MANIFEST
from millicent.runtime.tokenizers.hf import TOKENIZER_FILE
from millicent.runtime.transformer_section import GRAPH_FILE
from millicent.train.hf.base import Base
from millicent.train.hf.options import HFOptions

HF_DIR = "hf"
RECORD = "training.json"
_COPIED = ("vocab.txt", "special_tokens_map.json")
#: the artifact's files ``train hf`` moves into ``--out`` (the importer's names)
_GRAPH_FILES = (GRAPH_FILE, TOKENIZER_FILE)
_MANIFEST = MANIFEST
_STAGE = ".artifact"


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


def has_artifact(out: Path) -> bool:
    """Whether ``out`` holds the servable artifact (its manifest is written last)."""
    return (out / _MANIFEST).is_file()


def make_artifact(out: Path, opts: HFOptions, data_dir: Path | None, command: str) -> str:
    """Import ``out/hf`` into ``out`` itself (``manifest.json``, ``model.onnx``,
    ``tokenizer.json`` beside ``hf/``), so ``--out`` is the artifact ``serve`` and ``eval``
    take; returns its precision (``int8`` or ``fp32``).

    ``opts.quantize == "int8"``: the importer's gate picks the smallest int8 graph that
    stays close to fp32 (on ``opts.check_texts``, default TrecQA raw-dev from the data
    directory); when none does, the fp32 graph is kept and that is said. The artifact is
    staged in ``out/.artifact`` and its files moved into ``out`` with the manifest last: a
    run killed meanwhile has no manifest, and its rerun imports again.
    """
    from millicent.errors import InvalidInput
    from millicent.importer.hf.gate import GateRefused

    int8 = opts.quantize == "int8"
    try:
        try:
            stage = _import(out, opts, data_dir, command, "int8" if int8 else None)
        except GateRefused as exc:
            print(f"int8 refused by the gate, the artifact keeps the fp32 graph: {exc.message}")
            stage = _import(out, opts, data_dir, command, None)
    except InvalidInput as exc:
        raise InvalidInput(
            f"the training is complete ({out / HF_DIR}, {out / RECORD}) but no artifact was "
            f"made: {exc.message}. Rerun the same command to make it (it trains nothing "
            "again; --quantize none or --check-texts FILE change how)") from exc
    for name in (*_GRAPH_FILES, _MANIFEST):  # the manifest last
        os.replace(stage / name, out / name)
    shutil.rmtree(stage, ignore_errors=True)
    manifest = json.loads((out / _MANIFEST).read_text(encoding="utf-8"))
    precision: str = manifest["transformer"]["precision"]
    return precision


def _import(out: Path, opts: HFOptions, data_dir: Path | None, command: str,
            quantize: str | None) -> Path:
    """``import_hf(out/hf)`` into the staging directory ``out/.artifact``."""
    from millicent.importer.hf.run import import_hf

    stage = out / _STAGE
    shutil.rmtree(stage, ignore_errors=True)
    import_hf(out / HF_DIR, opts.task, stage, quantize=quantize, check_texts=opts.check_texts,
              data_dir=data_dir, name=out.resolve().name, task=opts.dataset or "",
              command=command)
    return stage
