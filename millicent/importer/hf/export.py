"""The network as ONNX: the encoder without its token table (served), or whole (the baseline).

``torch.onnx.export(..., dynamo=True)`` with dynamic batch and token axes — the exporter
DESIGN measured equal to torch within 5e-6. Example inputs are 2 texts × 9 tokens: sizes
0 and 1 would be baked into the graph.

* :class:`Tableless` takes ``inputs_embeds`` (rows of the token table), ``attention_mask``
  and, where the model has them, ``token_type_ids``. The model adds position (and type)
  embeddings and its embedding LayerNorm itself, so the raw rows reproduce it. RoBERTa-family
  models number positions from ``padding_idx + 1``; with ``inputs_embeds`` alone
  ``transformers`` would number every row's positions as if unpadded — right for real
  tokens under right padding, yet this wrapper passes the positions explicitly, computed
  from the mask as ``transformers`` computes them from the ids, so padded and unpadded
  inputs give the model exactly what it was trained with.
* :class:`Whole` takes ``input_ids`` (the table inside): the model as others deploy it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

from millicent.errors import ArtifactError
from millicent.importer.hf.source import HFSource
from millicent.runtime.transformer_section import EMBEDS, MASK, OUTPUTS, TYPES

IDS = "input_ids"
#: the example batch the exporter traces (neither axis may be 0 or 1)
EXAMPLE_BATCH, EXAMPLE_TOKENS = 2, 9


def _torch() -> Any:
    import torch

    return torch


class _Encoder:
    """What both wrappers share: the model, its role's output, its position rule."""

    def __init__(self, model: Any, source: HFSource, role: str) -> None:
        self.model = model
        self.role = role
        self.token_types = source.token_types
        self.padding_idx = source.padding_idx

    def call(self, attention_mask: Any, token_type_ids: Any, **inputs: Any) -> Any:
        kwargs: dict[str, Any] = {"attention_mask": attention_mask, **inputs}
        if self.token_types:
            kwargs["token_type_ids"] = token_type_ids
        if self.padding_idx is not None and EMBEDS in inputs:
            torch = _torch()
            mask = attention_mask.to(torch.int64)
            kwargs["position_ids"] = torch.cumsum(mask, dim=1) * mask + self.padding_idx
        out = self.model(**kwargs)
        return out.last_hidden_state if self.role == "embed" else out.logits


def wrapper(model: Any, source: HFSource, role: str, whole: bool = False) -> Any:
    """A ``torch.nn.Module`` whose forward takes the graph's inputs positionally."""
    torch = _torch()
    encoder = _Encoder(model, source, role)

    class Tableless(torch.nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: Any, attention_mask: Any,
                    token_type_ids: Any = None) -> Any:
            return encoder.call(attention_mask, token_type_ids, inputs_embeds=inputs_embeds)

    class Whole(torch.nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            return encoder.call(attention_mask, token_type_ids, input_ids=input_ids)

    return (Whole if whole else Tableless)().eval()


def input_names(source: HFSource, whole: bool = False) -> tuple[str, ...]:
    """The graph's inputs, in order."""
    first = IDS if whole else EMBEDS
    return (first, MASK, TYPES) if source.token_types else (first, MASK)


def _examples(source: HFSource, names: tuple[str, ...]) -> tuple[Any, ...]:
    torch = _torch()
    gen = torch.Generator().manual_seed(0)
    b, t = EXAMPLE_BATCH, min(EXAMPLE_TOKENS, source.max_tokens)
    out = []
    for name in names:
        if name == EMBEDS:
            out.append(torch.randn(b, t, source.hidden, generator=gen))
        elif name == IDS:
            out.append(torch.randint(0, source.table_shape[0], (b, t), generator=gen))
        elif name == MASK:
            out.append(torch.ones(b, t, dtype=torch.int64))
        else:
            out.append(torch.zeros(b, t, dtype=torch.int64))
    return tuple(out)


def export(model: Any, source: HFSource, role: str, path: Path, whole: bool = False) -> tuple[str, ...]:
    """Write the role's graph (table-less, or ``whole``) to ``path``; its input names."""
    torch = _torch()
    names = input_names(source, whole)
    batch = torch.export.Dim("batch")
    tokens = torch.export.Dim("tokens", max=max(source.max_tokens, EXAMPLE_TOKENS))
    dynamic = {name: {0: batch, 1: tokens} for name in names}
    module = wrapper(model, source, role, whole)
    # the exporter narrates every step on stdout and warns about optional packages
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    try:
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, _examples(source, names), dynamo=True,
                                        dynamic_shapes=dynamic, input_names=list(names),
                                        output_names=[OUTPUTS[role]], verbose=False)
            program.save(str(path))
    except Exception as exc:  # the exporter's failures share no base class below Exception
        raise ArtifactError(f"torch.onnx.export failed for {source.directory}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    return names
