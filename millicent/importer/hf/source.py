"""What a local Hugging Face directory holds, checked before anything is loaded.

:func:`read_source` reads only JSON files and the safetensors header (no torch, no weights)
and refuses, with the reason, what the importer cannot serve exactly:

* a config asking for remote code (``auto_map``) — millicent never runs a model's own code;
* weights only as a pickle (``pytorch_model.bin``) — it loads ``safetensors`` only;
* an architecture other than BERT (MiniLM is one), DistilBERT, RoBERTa and XLM-R, or
  positions other than absolute;
* no ``tokenizer.json`` (a slow tokenizer's ``vocab.txt`` alone is not enough);
* a token table whose width differs from the hidden size, or no table at all;
* an ``embed`` model whose sentence-transformers pipeline has a step it does not reproduce
  (a Dense layer ...), or a pooling it does not know.

RoBERTa-family models number positions from ``padding_idx + 1``: the exported graph
computes them from the attention mask, so right-padded batches get the positions the
model was trained with (:mod:`.export`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.data.token_table import tensor_shapes
from millicent.errors import InvalidInput
from millicent.jsonfile import read_json_object
from millicent.tokenizers.hf import TOKENIZER_FILE

#: model_type → the family whose export rules apply (RoBERTa's positions, token types)
FAMILIES: dict[str, str] = {"bert": "bert", "distilbert": "distilbert", "roberta": "roberta",
                            "xlm-roberta": "roberta"}
SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
#: sentence-transformers modules this importer reproduces
ST_MODULES = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
              "sentence_transformers.models.Normalize"}
_POOLING_FLAGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                  "pooling_mode_max_tokens": "max", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
                  "pooling_mode_weightedmean_tokens": "weightedmean",
                  "pooling_mode_lasttoken": "lasttoken"}
_LIMITLESS = 100_000  # tokenizer_config's "no limit" sentinel is 1e30


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file of the model directory; InvalidInput naming the file when it is not one."""
    return read_json_object(path, "model file", InvalidInput)


@dataclass(frozen=True)
class Pooling:
    """How an ``embed`` model turns token states into one vector, and where that was read."""

    mode: str
    normalize: bool
    source: str


@dataclass(frozen=True)
class HFSource:
    """A checked Hugging Face model directory (see the module docstring)."""

    directory: Path  #: the directory holding config.json and the weights
    config: dict[str, Any]
    family: str  #: bert | distilbert | roberta
    hidden: int
    intermediate: int
    #: the table: its tensor, its file, its (rows, width)
    tensor: str
    weights: Path
    table_shape: tuple[int, int]
    tokenizer: Path
    token_types: bool
    #: RoBERTa's padding_idx (positions count from padding_idx + 1); None for the others
    padding_idx: int | None
    max_tokens: int
    pooling: Pooling | None

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type"))


def read_source(directory: Path, role: str) -> HFSource:
    """The checked description of ``directory`` for ``role``; InvalidInput with the reason
    when it cannot be imported exactly."""
    root = Path(directory)
    if not (root / "config.json").is_file():
        raise InvalidInput(f"{root}: not a Hugging Face model directory (no config.json)")
    root, pooling = _sentence_transformers(root, role)
    config = read_json(root / "config.json")
    family = _family(root, config)
    weights, tensor, shape = _table(root, config)
    hidden = int(config.get("dim") or config.get("hidden_size") or 0)
    if shape[1] != hidden:
        raise InvalidInput(f"{weights}: the token table {tensor} is {shape[1]} wide but the "
                           f"hidden size is {hidden}: a factorised table (ALBERT-style) is not "
                           "supported")
    tokenizer = _tokenizer_file(root, directory)
    intermediate = int(config.get("hidden_dim") or config.get("intermediate_size") or 0)
    padding_idx = int(config.get("pad_token_id", 1)) if family == "roberta" else None
    return HFSource(directory=root, config=config, family=family, hidden=hidden,
                    intermediate=intermediate, tensor=tensor, weights=weights, table_shape=shape,
                    tokenizer=tokenizer, token_types=_token_types(family, config),
                    padding_idx=padding_idx, max_tokens=_max_tokens(root, directory, config, family),
                    pooling=pooling)


def _family(root: Path, config: dict[str, Any]) -> str:
    if "auto_map" in config or config.get("trust_remote_code"):
        raise InvalidInput(f"{root}/config.json asks for the model's own code (auto_map): "
                           "millicent never runs remote code; refused")
    model_type = str(config.get("model_type"))
    if model_type not in FAMILIES:
        raise InvalidInput(f"{root}: architecture {model_type!r} is not supported (supported: "
                           f"{', '.join(FAMILIES)}; MiniLM and sentence-transformers models "
                           "of these architectures are)")
    position = config.get("position_embedding_type", "absolute")
    if position != "absolute":
        raise InvalidInput(f"{root}: position_embedding_type {position!r} is not supported "
                           "(absolute positions only)")
    return FAMILIES[model_type]


def _token_types(family: str, config: dict[str, Any]) -> bool:
    """Whether the model reads token types (BERT with a type table of two or more)."""
    return family != "distilbert" and int(config.get("type_vocab_size", 0)) > 1


def _table(root: Path, config: dict[str, Any]) -> tuple[Path, str, tuple[int, int]]:
    """The weights file holding the token table, the tensor's name and its shape."""
    files = _weight_files(root)
    for path in files:
        for name, (shape, _) in tensor_shapes(path).items():
            if name.endswith("embeddings.word_embeddings.weight") and len(shape) == 2:
                return path, name, (shape[0], shape[1])
    raise InvalidInput(f"{root}: the weights hold no token table (*embeddings.word_embeddings."
                       "weight); a tensor the config needs is missing")


def _weight_files(root: Path) -> list[Path]:
    if (root / SAFETENSORS).is_file():
        return [root / SAFETENSORS]
    if (root / SAFETENSORS_INDEX).is_file():
        weight_map = read_json(root / SAFETENSORS_INDEX).get("weight_map") or {}
        return [root / name for name in dict.fromkeys(weight_map.values())]
    pickled = [name for name in PICKLES if (root / name).exists()]
    if pickled:
        raise InvalidInput(f"{root}: the weights are only in {pickled[0]} (a pickle, which can "
                           "run code when loaded): millicent loads safetensors only; convert "
                           "with model.save_pretrained(dir, safe_serialization=True)")
    raise InvalidInput(f"{root}: no {SAFETENSORS} (the model's weights)")


def _tokenizer_file(root: Path, top: Path) -> Path:
    for folder in (root, Path(top)):
        if (folder / TOKENIZER_FILE).is_file():
            return folder / TOKENIZER_FILE
    raise InvalidInput(f"{root}: no {TOKENIZER_FILE}; save the model's fast tokenizer "
                       "(AutoTokenizer.from_pretrained(...).save_pretrained(dir)) beside it")


def _max_tokens(root: Path, top: Path, config: dict[str, Any], family: str) -> int:
    """sentence-transformers' ``max_seq_length`` where present, else the model's own limit
    (positions, and the tokenizer's ``model_max_length`` when it sets a real one)."""
    positions = int(config.get("max_position_embeddings", 512))
    if family == "roberta":
        positions -= int(config.get("pad_token_id", 1)) + 1
    for folder in (root, Path(top)):
        st = folder / "sentence_bert_config.json"
        if st.is_file() and isinstance(read_json(st).get("max_seq_length"), int):
            return min(int(read_json(st)["max_seq_length"]), positions)
    tc = root / "tokenizer_config.json"
    limit = read_json(tc).get("model_max_length") if tc.is_file() else None
    if isinstance(limit, int | float) and 0 < limit < _LIMITLESS:
        return min(int(limit), positions)
    return positions


def _sentence_transformers(root: Path, role: str) -> tuple[Path, Pooling | None]:
    """The transformer's directory and, for ``embed``, the pooling its modules.json says
    (mean pooling without normalisation when there is none: sentence-transformers' default)."""
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return root, Pooling("mean", False, "default (no modules.json)") if role == "embed" else None
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        steps = {str(m["type"]): str(m.get("path", "")) for m in modules}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"cannot read {modules_file}: {exc}") from exc
    model_dir = root / steps.get("sentence_transformers.models.Transformer", "")
    if role != "embed":
        return model_dir, None
    unknown = sorted(set(steps) - ST_MODULES)
    if unknown:
        raise InvalidInput(f"{modules_file}: the step(s) {', '.join(unknown)} are not "
                           "reproduced by millicent (Transformer, Pooling and Normalize are)")
    pooling_dir = steps.get("sentence_transformers.models.Pooling")
    if pooling_dir is None:
        raise InvalidInput(f"{modules_file}: no Pooling step: an embed model needs one")
    flags = read_json(root / pooling_dir / "config.json")
    modes = [mode for key, mode in _POOLING_FLAGS.items() if flags.get(key)]
    if len(modes) != 1 or modes[0] not in ("mean", "cls", "max", "mean_sqrt_len"):
        raise InvalidInput(f"{root / pooling_dir}/config.json: pooling {modes or 'none'} is not "
                           "supported (one of mean, cls, max, mean_sqrt_len)")
    normalize = "sentence_transformers.models.Normalize" in steps
    return model_dir, Pooling(modes[0], normalize, f"{pooling_dir}/config.json, modules.json")
