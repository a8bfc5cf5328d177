"""The reference: what torch answers for the same texts, with the table inside the model.

``transformers``' own tokenizer (``AutoTokenizer``, padding to the longest text,
truncation at the model's ``max_tokens``) feeds token ids to the torch model; the answer
is computed as sentence-transformers computes it — mean pooling over the attention mask
with the count clamped at 1e-9 (or CLS / max / mean·√n), then ``F.normalize`` where the
model normalises — or as a classifier / cross-encoder reports it (softmax; sigmoid of one
logit, the positive class of two). The importer's parity check and the parity experiment
compare the served artifact with this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from millicent.data.trecqa import QAPair
from millicent.importer.hf.load import offline_transformers
from millicent.importer.hf.source import HFSource


def reference_tokenizer(source: HFSource) -> Any:
    """``transformers``' tokenizer of the model (from its directory, never downloaded)."""
    transformers = offline_transformers()
    return transformers.AutoTokenizer.from_pretrained(str(source.tokenizer.parent),
                                                      local_files_only=True)


def _pool(hidden: Any, mask: Any, mode: str) -> Any:
    import torch

    if mode == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return torch.where(m > 0, hidden, torch.tensor(-1e9, dtype=hidden.dtype)).max(dim=1).values
    summed = (hidden * m).sum(dim=1)
    count = torch.clamp(m.sum(dim=1), min=1e-9)
    return summed / (count if mode == "mean" else torch.sqrt(count))


def torch_outputs(model: Any, source: HFSource, role: str, texts: Sequence[str] = (),
                  pairs: Sequence[QAPair] = (), batch_size: int = 32) -> np.ndarray:
    """The torch model's answers (float64): embeddings, probabilities, or P(relevant)."""
    import torch

    tok = reference_tokenizer(source)
    n = len(pairs) if pairs else len(texts)
    chunks = []
    for start in range(0, n, batch_size):
        if pairs:
            part = pairs[start:start + batch_size]
            args: tuple[Any, ...] = ([p.question for p in part], [p.answer for p in part])
        else:
            args = (list(texts[start:start + batch_size]),)
        enc = tok(*args, padding=True, truncation=True, max_length=source.max_tokens,
                  return_token_type_ids=source.token_types, return_tensors="pt")
        inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if source.token_types:
            inputs["token_type_ids"] = enc["token_type_ids"]
        with torch.no_grad():
            out = model(**inputs)
        chunks.append(_answer(out, inputs["attention_mask"], source, role).double().numpy())
    return np.concatenate(chunks)


def _answer(out: Any, mask: Any, source: HFSource, role: str) -> Any:
    import torch

    if role == "embed":
        assert source.pooling is not None  # read_source gives an embed model its pooling
        pooled = _pool(out.last_hidden_state, mask, source.pooling.mode)
        return torch.nn.functional.normalize(pooled, p=2, dim=1) if source.pooling.normalize else pooled
    logits = out.logits
    if role == "classify":
        return torch.softmax(logits, dim=-1)
    if logits.shape[-1] == 1:
        return torch.sigmoid(logits[:, 0])
    return torch.softmax(logits, dim=-1)[:, 1]
