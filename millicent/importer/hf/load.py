"""Loading the model with ``transformers`` (torch) for export — never from the network.

The Hub is switched off before ``transformers`` is imported (``HF_HUB_OFFLINE``), every
load passes ``local_files_only=True``, ``use_safetensors=True`` and
``trust_remote_code=False``. A tensor the configuration needs that the weights lack is
refused (``transformers`` would only warn and initialise it at random), and so is a table
that differs from the one read with numpy — the rows the store will serve must be the
model's own.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from millicent.errors import InvalidInput
from millicent.importer.hf.source import HFSource

#: parameters a role does not use, so their absence costs nothing (BertModel's pooler, when
#: embedding from a checkpoint saved without it)
_UNUSED = {"embed": ("pooler.",)}


def offline_transformers() -> Any:
    """The ``transformers`` module, imported with the Hub off and its progress bars quiet."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import transformers
    except ModuleNotFoundError as exc:
        from millicent.errors import missing_extra

        raise missing_extra(exc.name or "transformers", "hf") from exc
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_model(source: HFSource, role: str) -> Any:
    """The torch model for ``role`` (a base encoder for ``embed``, a sequence-classification
    model otherwise), in eval mode; InvalidInput when the weights lack what it needs."""
    transformers = offline_transformers()
    auto = transformers.AutoModel if role == "embed" else transformers.AutoModelForSequenceClassification
    try:
        model, info = auto.from_pretrained(
            str(source.directory), local_files_only=True, use_safetensors=True,
            trust_remote_code=False, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidInput(f"transformers cannot load {source.directory}: {exc}") from exc
    unused = _UNUSED.get(role, ())
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(unused))
    if missing:
        hint = (" — a --role classify|rank model needs a trained sequence-classification head"
                if role != "embed" and any("classifier" in k for k in missing) else "")
        raise InvalidInput(f"{source.directory}: the weights lack tensor(s) the config needs: "
                           f"{', '.join(missing[:6])}{hint}")
    if info.get("mismatched_keys"):
        raise InvalidInput(f"{source.directory}: tensors of the wrong shape for the config: "
                           f"{sorted(info['mismatched_keys'])[:6]}")
    model.eval()
    return model


def check_table(model: Any, table: np.ndarray, source: HFSource) -> None:
    """InvalidInput unless the numpy-read ``table`` is the model's input embedding table."""
    weight = model.get_input_embeddings().weight.detach().cpu().float().numpy()
    if weight.shape != table.shape or not np.array_equal(weight, table):
        raise InvalidInput(f"{source.weights}: the tensor {source.tensor} read with numpy is not "
                           "the table the model uses (shape "
                           f"{list(table.shape)} vs {list(weight.shape)})")
