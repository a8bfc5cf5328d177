"""The baseline "as others deploy it": the whole network, its token table inside, as ONNX
taking token ids — what a later ``bench --compare`` ``whole`` configuration serves, and
what the memory experiment compares millicent's table-less layout with.

:func:`export_whole` writes a directory: ``model.onnx`` (``input_ids``, ``attention_mask``
[, ``token_type_ids``] → the role's output, exported exactly as the table-less graph is),
the model's ``tokenizer.json``, and ``whole.json`` (role, inputs, output, pooling,
normalisation, head, labels, ``max_tokens``, precision, the id that pads a batch, the
sha256 of the source files it was exported from). With ``quantize="int8"`` the graph
is quantized with the int8 configuration named (default: every weight MatMul per channel;
the token table, a Gather, stays float32 as in the table-less graph).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.data.paths import PathLike
from millicent.errors import InvalidInput
from millicent.importer.hf import manifest as manifests
from millicent.importer.hf.export import export
from millicent.importer.hf.load import load_model
from millicent.importer.hf.quantize import candidates, config_named
from millicent.importer.hf.quantize import quantize as quantize_graph
from millicent.importer.hf.source import read_source
from millicent.runtime.transformer_section import GRAPH_FILE, OUTPUTS, WHOLE_JSON
from millicent.tokenizers.hf import TOKENIZER_FILE

__all__ = ["WHOLE_JSON", "WholeModel", "export_whole"]


@dataclass(frozen=True)
class WholeModel:
    """A written whole-model directory and its description (``whole.json``)."""

    path: Path
    description: dict[str, Any]

    @property
    def graph(self) -> Path:
        return self.path / GRAPH_FILE


def export_whole(source_dir: PathLike, role: str, out: PathLike, quantize: str | None = None,
                 config: str | None = None) -> WholeModel:
    """Export the whole model of ``source_dir`` for ``role`` into the directory ``out``
    (created; must be absent or empty). ``quantize="int8"`` with ``config`` the name of one of
    :func:`~millicent.importer.hf.quantize.candidates` (default the first)."""
    source = read_source(Path(source_dir), role)
    head, labels = manifests.head_and_labels(source, role)
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} exists and is not empty")
    layers = int(source.config.get("num_hidden_layers") or source.config.get("n_layers") or 0)
    chosen = config_named(config, source.hidden, source.intermediate, layers)
    if quantize not in (None, "int8") or chosen is None:
        offered = candidates(source.hidden, source.intermediate, layers)
        raise InvalidInput(f"unknown quantization {quantize!r} / {config!r} (int8 configurations: "
                           f"{', '.join(c.name for c in offered)})")
    model = load_model(source, role)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="millicent-whole-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        inputs = export(model, source, role, fp32, whole=True)
        if quantize:
            quantize_graph(fp32, target / GRAPH_FILE, chosen, source.hidden, source.intermediate)
        else:
            shutil.copyfile(fp32, target / GRAPH_FILE)
    shutil.copyfile(source.tokenizer, target / TOKENIZER_FILE)
    pooling = source.pooling
    description = {"role": role, "architecture": source.model_type, "inputs": list(inputs),
                   "output": OUTPUTS[role], "head": head, "labels": list(labels),
                   "pooling": pooling.mode if pooling else None,
                   "normalize": bool(pooling and pooling.normalize),
                   "max_tokens": source.max_tokens, "hidden_size": source.hidden,
                   "precision": quantize or "fp32",
                   "int8_config": chosen.name if quantize else None,
                   # right padding: RoBERTa numbers positions from the ids, so pad with its own
                   "pad_id": source.padding_idx if source.padding_idx is not None
                   else int(source.config.get("pad_token_id") or 0),
                   "imported_from": str(Path(source_dir).resolve()),
                   "files": manifests.source_files(source)}
    (target / WHOLE_JSON).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return WholeModel(target, description)
