"""The imported artifact's manifest: kind ``transformer``, the table by digest, the ``hf``
tokenizer with the model's ``max_tokens``, the graph's inputs and the numpy steps after it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from millicent.errors import InvalidInput
from millicent.importer.hf.source import HFSource
from millicent.importer.hf.table import TableInfo
from millicent.importer.hf.trained import data_section, training_record
from millicent.runtime.artifact import EmbeddingSpec, Manifest, TokenizerSpec
from millicent.runtime.transformer_section import OUTPUTS, SECTION, TransformerSection
from millicent.types import TOKEN_TABLE

#: the manifest section ``eval --file`` reads the training file's labels and columns from
#: (``millicent.train.scoring.DATA_SECTION``; the importer sits below ``train``)
DATA_SECTION = "data"

#: files of the source directory whose digests the manifest records (those that decide
#: what is served)
_RECORDED = ("config.json", "tokenizer.json", "model.safetensors", "modules.json",
             "sentence_bert_config.json", "1_Pooling/config.json")


def head_and_labels(source: HFSource, role: str) -> tuple[str, tuple[str, ...]]:
    """How the role's answer is made from the graph's output, and the labels; InvalidInput
    for a head this role cannot use."""
    if role == "embed":
        return "pool", ()
    config = source.config
    if config.get("problem_type") == "multi_label_classification":
        raise InvalidInput(f"{source.directory}: a multi-label head is not supported (classify "
                           "answers one label)")
    id2label = config.get("id2label") or {}
    n = len(id2label) or int(config.get("num_labels", 2))
    if role == "rank":
        if n not in (1, 2):
            raise InvalidInput(f"{source.directory}: a cross-encoder for --role rank has one "
                               f"logit (sigmoid) or two (the positive class second); this has {n}")
        return ("sigmoid" if n == 1 else "softmax"), ()
    if n < 2:
        raise InvalidInput(f"{source.directory}: a classifier needs two labels or more; one "
                           "logit is a score (a cross-encoder: --role rank)")
    labels = tuple(str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n))
    return "softmax", labels


def section(source: HFSource, role: str, inputs: tuple[str, ...], head: str) -> TransformerSection:
    """The fp32 ``transformer`` section (the importer adds parity and int8 figures)."""
    pooling = source.pooling
    return TransformerSection(
        role=role, architecture=source.model_type, head=head, inputs=inputs,
        output=OUTPUTS[role], pooling=pooling.mode if pooling else None,
        normalize=bool(pooling and pooling.normalize),
        info={"pooling_from": pooling.source} if pooling else {})


def lowercases(tokenizer_file: Path) -> bool:
    """Whether the tokenizer's normalizer lower-cases (recorded; keys are verbatim anyway)."""
    normalizer = json.loads(tokenizer_file.read_text(encoding="utf-8")).get("normalizer") or {}
    parts = normalizer.get("normalizers") or [normalizer]
    return any(p.get("type") == "Lowercase" or (p.get("type") == "BertNormalizer" and p.get("lowercase"))
               for p in parts if isinstance(p, dict))


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def source_files(source: HFSource) -> dict[str, str]:
    """sha256 of the source files that decide what is served."""
    out = {}
    for name in _RECORDED:
        for folder in dict.fromkeys((source.directory, source.tokenizer.parent)):
            if (folder / name).is_file():
                out[name] = sha256_of(folder / name)
                break
    return out


def build(source: HFSource, role: str, table: TableInfo, transformer: TransformerSection,
          labels: tuple[str, ...], provenance: dict[str, Any]) -> Manifest:
    """The manifest (``provenance``: ``name``, ``task``, ``command``; a directory ``train
    hf`` wrote adds its record, :mod:`.trained`)."""
    record = training_record(source.directory, labels)
    training: dict[str, Any] = {"command": provenance.get("command", ""),
                                "imported_from": str(source.directory.resolve()),
                                "files": source_files(source)}
    sections: dict[str, Any] = {SECTION: transformer.to_dict()}
    if record is not None:
        training["fine_tuning"] = record
        if role == "classify" and data_section(record):
            sections[DATA_SECTION] = data_section(record)
    name = provenance.get("name") or source.directory.resolve().name
    spec = EmbeddingSpec(dim=source.hidden, dtype="float32", source=TOKEN_TABLE, variant="static",
                         pretrained=None, words=table.keys, table=table.to_dict())
    tokenizer = TokenizerSpec.of("hf", lowercases(source.tokenizer), source.max_tokens)
    config = {"model_type": source.model_type, "hidden_size": source.hidden,
              "intermediate_size": source.intermediate,
              "num_hidden_layers": source.config.get("num_hidden_layers", source.config.get("n_layers")),
              "vocab_size": table.rows, "max_tokens": source.max_tokens}
    return Manifest(
        kind="transformer", role=role, embedding=spec, labels=labels,  # type: ignore[arg-type]
        tokenizer=tokenizer, task=str(provenance.get("task") or ""), name=str(name), config=config,
        training=training, sections=sections)
