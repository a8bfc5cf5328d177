"""The base model: a local Hugging Face directory, checked, then loaded offline.

Refused with the reason, before anything is written: a missing directory or
``config.json``; a config asking for remote code (``auto_map``: millicent runs no code
from a model directory); weights only as pickles (``pytorch_model.bin``, ``*.pt``,
``*.ckpt`` — unpickling can run code; millicent reads ``safetensors`` only); no
``tokenizer.json`` (the fast tokenizer the served function runs); an architecture outside
:data:`SUPPORTED` (the BERT family the importer serves).

Loading never reaches the network (``local_files_only=True``, ``use_safetensors=True``,
``trust_remote_code=False``). The head — a classifier over the labels, or one relevance
logit for ``rank`` (a cross-encoder: relevance = sigmoid(logit), the
sentence-transformers ``CrossEncoder`` convention) — starts from torch's seeded generator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.errors import InvalidInput
from millicent.jsonfile import read_json_object

#: model types fine-tuned here (MiniLM checkpoints are ``bert``)
SUPPORTED = ("bert", "distilbert")
_PICKLES = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "*.pt", "*.pth", "*.ckpt",
            "pytorch_model-*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.txt")
#: the rank head: one logit, relevance = sigmoid(logit)
RANK_LABELS = ("relevant",)


@dataclass(frozen=True)
class Base:
    """A checked base directory: its config and the sha256 of its weight files."""

    path: Path
    config: dict[str, Any]
    weights: dict[str, str]  #: safetensors file name → sha256

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type"))

    @property
    def token_types(self) -> bool:
        """Whether the model takes ``token_type_ids`` (BERT: 2 types; DistilBERT: none)."""
        return self.model_type == "bert" and int(self.config.get("type_vocab_size", 0)) >= 2


def check_base(path: str | Path) -> Base:
    """The directory as a :class:`Base`, or InvalidInput saying why it cannot be one."""
    d = Path(path)
    if not d.is_dir():
        raise InvalidInput(f"--base {path}: no such directory (a Hugging Face model directory)")
    config_file = d / "config.json"
    if not config_file.is_file():
        raise InvalidInput(f"--base {path}: no config.json, so not a Hugging Face model directory")
    config = read_json_object(config_file, "config.json", InvalidInput)
    if config.get("auto_map") or config.get("trust_remote_code"):
        raise InvalidInput(f"{config_file} asks for remote code (auto_map): millicent runs no "
                           "code from a model directory")
    weights = sorted(d.glob("*.safetensors"))
    if not weights:
        pickles = sorted(p.name for pattern in _PICKLES for p in d.glob(pattern))
        held = f"only pickled weights ({', '.join(pickles)})" if pickles else "no weights"
        raise InvalidInput(f"--base {path} holds {held}: millicent loads safetensors only "
                           "(unpickling can run code); save the model with "
                           "save_pretrained(safe_serialization=True)")
    if not (d / "tokenizer.json").is_file():
        raise InvalidInput(f"--base {path}: no tokenizer.json (the fast tokenizer the served "
                           "model runs); save the tokenizer with a fast tokenizer")
    if config.get("model_type") not in SUPPORTED:
        raise InvalidInput(f"--base {path}: model_type {config.get('model_type')!r} is not "
                           f"supported (fine-tuned here: {', '.join(SUPPORTED)})")
    return Base(d, config, {p.name: _sha256(p) for p in weights})


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_model(base: Base, labels: Sequence[str]) -> Any:
    """The base encoder with a sequence-classification head over ``labels`` (one logit
    for the rank head), seeded by torch's generator; prints which weights are new."""
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification

    # the load report is printed below, briefly; the tool has its own progress display
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    id2label = dict(enumerate(labels))
    config = AutoConfig.from_pretrained(
        base.path, local_files_only=True, trust_remote_code=False, num_labels=len(labels),
        id2label=id2label, label2id={v: k for k, v in id2label.items()})
    model, info = AutoModelForSequenceClassification.from_pretrained(
        base.path, config=config, local_files_only=True, use_safetensors=True,
        trust_remote_code=False, ignore_mismatched_sizes=True, output_loading_info=True)
    new = sorted(info.get("missing_keys") or []) + [
        str(m[0]) if isinstance(m, tuple) else str(m) for m in info.get("mismatched_keys") or []]
    if new:
        print(f"new (random, seeded) weights: {', '.join(new)}")
    return model
