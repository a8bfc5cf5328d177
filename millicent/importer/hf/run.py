"""``import_hf``: a local Hugging Face directory becomes a ``transformer`` artifact.

Steps, each refusing with a clear :class:`~millicent.errors.InvalidInput` and writing
nothing (the artifact is staged beside ``out`` and renamed into place at the end):

1. check the directory without loading it (:mod:`.source`);
2. load the torch model offline, from safetensors, refusing missing tensors (:mod:`.load`);
3. read the token table with numpy, check it is the model's, name it by its digest, find
   its copy in the data directory (:mod:`.table`);
4. export the encoder without its table to ONNX (:mod:`.export`), stage the artifact
   (graph, ``tokenizer.json``, manifest) and load it with the runtime's registry;
5. parity: the staged artifact, served, against torch on varied texts (:mod:`.reference`);
6. ``quantize="int8"``: the gate picks the smallest int8 graph that stays close to fp32
   (:mod:`.gate`);
7. publish.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np

from millicent.data.paths import PathLike
from millicent.errors import ArtifactError, InvalidInput
from millicent.importer.hf import manifest as manifests
from millicent.importer.hf.checkset import check_set
from millicent.importer.hf.export import export
from millicent.importer.hf.gate import Gate, Trial
from millicent.importer.hf.load import check_table, load_model
from millicent.importer.hf.quantize import CONFIGS, WEIGHT_ONLY
from millicent.importer.hf.reference import torch_outputs
from millicent.importer.hf.served import Served, encode, fixed_batches, outputs, rows_by_id
from millicent.importer.hf.source import HFSource, read_source
from millicent.importer.hf.table import read_table
from millicent.importer.staging import check_out, publish, staged
from millicent.runtime.artifact import Manifest, save_artifact
from millicent.runtime.registry import load_model as load_served
from millicent.runtime.transformer import (
    TransformerClassifier,
    TransformerEmbedder,
    TransformerRanker,
)
from millicent.runtime.transformer_section import GRAPH_FILE, SECTION
from millicent.tokenizers.hf import TOKENIZER_FILE

ROLES = ("embed", "classify", "rank")
QUANTIZE = ("int8",)
#: served vs torch, on every element of an embedding or probability
PARITY_TOLERANCE = 1e-4
#: varied texts for the parity check: accents, CJK, emoji, punctuation, a long text
PARITY_TEXTS = (
    "It's a charming, often affecting journey.", "Héllo wörld — café crème brûlée!",
    "東京は日本の首都です。", "I ❤️ 🍕 pizza 👍🏽 (really)", "who wrote hamlet ?",
    "The Eiffel Tower, completed in 1889, is 330 metres tall.", "don't stop-believing 1,000%",
    "a " + "very " * 300 + "long text",
)


class HFImportExtras(TypedDict, total=False):
    """Optional settings of :func:`import_hf`."""

    name: str  #: the model's name (default: the directory's)
    task: str  #: the dataset it is for (eval, --vocab-from)
    force: bool  #: replace an existing ``out``
    command: str  #: the command line, recorded in the manifest


@dataclass
class HFImportResult:
    """The written artifact and what the import measured."""

    path: Path
    manifest: Manifest
    parity: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)


def import_hf(source_dir: PathLike, role: str, out: PathLike, quantize: str | None = None,
              check_texts: PathLike | None = None, data_dir: PathLike | None = None,
              **extras: Unpack[HFImportExtras]) -> HFImportResult:
    """Turn the Hugging Face model directory ``source_dir`` into a millicent artifact at ``out``.

    ``role``: ``embed`` (a sentence-transformers or plain encoder: pooled, normalised as its
    modules.json says), ``classify`` (a sequence-classification head; labels from
    ``id2label``) or ``rank`` (a cross-encoder: one logit, or two with the positive class
    second). ``quantize="int8"`` keeps the smallest int8 graph that passes the gate on
    ``check_texts`` (a file; default TrecQA raw-dev from ``data_dir``). The token table
    stays in the model's safetensors (the artifact's vector source, by digest); load it
    into a store with :func:`millicent.data.token_table.token_table`.

    Never downloads; loads safetensors only. Raises InvalidInput (nothing written) for
    anything it cannot serve exactly: an unsupported architecture, remote code, a pickle,
    no tokenizer.json, a table narrower or wider than the hidden size, a missing tensor, a
    parity failure against torch, an int8 gate no configuration passes.
    """
    if role not in ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if quantize is not None and quantize not in QUANTIZE:
        raise InvalidInput(f"--quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    target = Path(out)
    check_out(target, bool(extras.get("force")))
    source = read_source(Path(source_dir), role)
    head, labels = manifests.head_and_labels(source, role)
    checks = check_set(role, data_dir, Path(check_texts) if check_texts else None) if quantize else None
    model = load_model(source, role)
    table, info = read_table(source, data_dir)
    check_table(model, table, source)
    with staged(target) as stage, tempfile.TemporaryDirectory(prefix="millicent-hf-") as tmp:
        work = Path(tmp)
        inputs = export(model, source, role, work / "fp32.onnx")
        section = manifests.section(source, role, inputs, head)
        manifest = manifests.build(source, role, info, section, labels, dict(extras))
        served = _stage(stage, source, manifest, work / "fp32.onnx")
        parity = _parity(served, model, source, table)
        section = replace(section, info={**section.info, "parity": parity})
        trials: list[Trial] = []
        if checks is not None:
            section, trials = _int8(served, table, checks, source, work, stage, section)
        final = replace(manifest, sections={**manifest.sections, SECTION: section.to_dict()})
        save_artifact(stage, final, None)
        load_served(stage)  # the final manifest, read back by the runtime
        files = {f.name: f.stat().st_size for f in sorted(stage.iterdir()) if f.is_file()}
        publish(stage, target)
    return HFImportResult(target, final, parity, trials, files)


def _stage(stage: Path, source: HFSource, manifest: Manifest, graph: Path) -> Served:
    """Write the fp32 artifact into ``stage`` and build it with the runtime's registry."""
    shutil.copyfile(graph, stage / GRAPH_FILE)
    shutil.copyfile(source.tokenizer, stage / TOKENIZER_FILE)
    save_artifact(stage, manifest, None)
    model = load_served(stage)
    if not isinstance(model, TransformerEmbedder | TransformerClassifier | TransformerRanker):
        raise ArtifactError(f"{stage}: the registry built a {type(model).__name__}")
    return model


def _parity(served: Served, model: Any, source: HFSource, table: np.ndarray) -> dict[str, Any]:
    """The served fp32 artifact against torch on :data:`PARITY_TEXTS`; InvalidInput past
    :data:`PARITY_TOLERANCE`."""
    from millicent.data.trecqa import QAPair

    role = str(served.role)
    texts = list(PARITY_TEXTS)
    pairs = [QAPair("q", texts[4], t, 0) for t in texts] if role == "rank" else []
    encodings = encode(served.tokenizer, texts, pairs)
    got = outputs(served, rows_by_id(table), encodings, fixed_batches(len(encodings), len(encodings)))
    ref = torch_outputs(model, source, role, texts, pairs)
    diff = float(np.abs(got - ref).max())
    if diff > PARITY_TOLERANCE:
        raise InvalidInput(f"{source.directory}: the exported graph differs from torch by {diff:.2e} "
                           f"(tolerance {PARITY_TOLERANCE}): refused")
    return {"texts": len(encodings), "max_abs_diff": diff, "batch": len(encodings),
            "reference": "transformers (torch), ids from its own tokenizer"}


def _int8(served: Served, table: np.ndarray, checks: Any, source: HFSource, work: Path,
          stage: Path, section: Any) -> tuple[Any, list[Trial]]:
    """Run the gate; the chosen int8 graph replaces the staged fp32 one."""
    gate = Gate(served, table, checks, source.hidden, source.intermediate)
    graph, chosen, trials = gate.search(work / "fp32.onnx", work)
    shutil.copyfile(graph, stage / GRAPH_FILE)
    method = WEIGHT_ONLY.method if chosen.config == WEIGHT_ONLY.name else CONFIGS[0].method
    quantization = {"method": method,
                    "config": chosen.config, "check_texts": checks.source, "texts": len(checks),
                    "batches": "per question" if served.role == "rank" else "1 and 32",
                    "fp32_graph_bytes": (work / "fp32.onnx").stat().st_size,
                    "tried": [t.to_dict() for t in trials]}
    return replace(section, precision="int8", info={**section.info, "quantization": quantization}), trials
