"""``train hf``'s last step: the fine-tuned ``OUT/hf`` imported into ``OUT`` itself, so
``--out`` is a servable artifact (``manifest.json``, ``model.onnx``, ``tokenizer.json``
beside ``hf/``, ``run.json`` and ``training.json``).

Here in the CLI because training (:mod:`millicent.train.hf`) and importing
(:mod:`millicent.importer.hf`) are siblings of one layer: neither imports the other.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from millicent.runtime.artifact import MANIFEST
from millicent.runtime.transformer_section import GRAPH_FILE
from millicent.tokenizers.hf import TOKENIZER_FILE
from millicent.train.hf.options import HFOptions
from millicent.train.hf.output import HF_DIR, RECORD

#: the artifact's files moved into ``--out`` (the importer's names)
_GRAPH_FILES = (GRAPH_FILE, TOKENIZER_FILE)
_MANIFEST = MANIFEST
_STAGE = ".artifact"


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
