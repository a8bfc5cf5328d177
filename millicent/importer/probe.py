"""Run a graph before accepting it: declared dynamic axes are not enough.

PyTorch's TorchScript exporter (``dynamo=False``) declares the token axis dynamic and then
bakes the example's length into ``nn.MultiheadAttention``'s reshapes: such a graph loads,
and fails at every other length. So the import runs the graph on zero inputs (a text of
unknown words only) at 1 and 3 texts × 1, 2, 7 and 64 tokens, fed exactly as the runtime
feeds it — through the runtime's own :class:`~millicent.runtime.onnx_model.OnnxGraph`, with
padded rows and shorter lengths when the graph takes lengths — and refuses a graph that
fails, answers another shape or answers NaN, naming the shape it was given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from millicent.errors import ArtifactError, InvalidInput
from millicent.runtime.onnx_model import OnnxGraph, describe, first_line
from millicent.runtime.onnx_section import LENGTH_ROLES, TEXT_ROLES

BATCHES = (1, 3)
TOKENS = (1, 2, 7, 64)
#: (question tokens, answer tokens) a ranker is tried at: equal lengths and mixed ones
PAIR_TOKENS = ((1, 1), (2, 2), (7, 7), (64, 64), (2, 64), (64, 2))
HINT = ("the graph must run at any batch size and token length. PyTorch's TorchScript "
        "exporter (torch.onnx.export(..., dynamo=False)) bakes the example's length into some "
        "ops, e.g. nn.MultiheadAttention's reshapes: export with dynamo=True")
NAN_HINT = ("unknown words reach the graph as zero rows, so a text of unknown words only "
            "must get a finite answer (e.g. guard a norm or a division by zero)")


def _lengths(batch: int, tokens: int) -> np.ndarray:
    """True lengths of a padded probe batch: the full length, then shorter ones (descending,
    as ``pack_padded_sequence`` wants by default)."""
    return np.array([tokens, max(1, tokens // 2), 1][:batch], dtype=np.int64)


def probe_feeds(role: str, lengths: bool, dim: int) -> list[dict[str, np.ndarray]]:
    """The inputs a graph of ``role`` is tried with, by input role."""
    out: list[dict[str, np.ndarray]] = []
    for batch in BATCHES:
        if role == "classify":
            for t in TOKENS:
                feeds: dict[str, np.ndarray] = {"embeddings": np.zeros((batch, t, dim), np.float32)}
                if lengths:
                    feeds["lengths"] = _lengths(batch, t)
                out.append(feeds)
            continue
        for tq, ta in PAIR_TOKENS:
            feeds = {"question": np.zeros((batch, tq, dim), np.float32),
                     "answer": np.zeros((batch, ta, dim), np.float32)}
            if lengths:
                feeds["question_lengths"] = np.full(batch, tq, dtype=np.int64)
                feeds["answer_lengths"] = _lengths(batch, ta)
            out.append(feeds)
    return out


def plain_feeds(role: str, lengths: bool, dim: int, batch: int = 2,
                tokens: int = 3) -> dict[str, np.ndarray]:
    """Unpadded zero inputs of ``batch`` texts (or pairs) × ``tokens``, by input role."""
    feeds: dict[str, np.ndarray] = {r: np.zeros((batch, tokens, dim), np.float32)
                                     for r in TEXT_ROLES[role]}
    if lengths:
        feeds.update({r: np.full(batch, tokens, dtype=np.int64) for r in LENGTH_ROLES[role]})
    return feeds


def observe(session: Any, inputs: dict[str, str], role: str, dim: int) -> tuple[int, ...]:
    """The output shape of one plain run (2 texts × 3 tokens) of a raw onnxruntime session:
    what the graph answers, whatever its declaration says."""
    feeds = plain_feeds(role, any(r in inputs for r in LENGTH_ROLES[role]), dim)
    named = {inputs[r]: v for r, v in feeds.items()}
    output = session.get_outputs()[0].name
    try:
        (y,) = session.run([output], named)
    except Exception as exc:  # onnxruntime's errors share no base class below Exception
        raise InvalidInput(f"refused: the graph fails on {describe(feeds)}: {first_line(exc)}; "
                           f"{HINT}", shape=describe(feeds)) from exc
    shape = tuple(int(n) for n in np.shape(y))
    if not shape or shape[0] != 2:
        raise InvalidInput(f"refused: the graph answers shape {list(shape)} for "
                           f"{describe(feeds)}: its output needs one row per input (a dynamic "
                           "batch axis)", shape=describe(feeds))
    return shape


def probe(graph: OnnxGraph, dim: int) -> list[str]:
    """Run ``graph`` at every probe shape; the shapes tried, or InvalidInput naming the
    first one it fails, answers a wrong shape, or answers NaN at."""
    tried: list[str] = []
    for feeds in probe_feeds(graph.section.role, graph.lengths, dim):
        try:
            graph.run(feeds)
        except ArtifactError as exc:
            reason = exc.message.removeprefix(f"{graph.path}: ")
            hint = NAN_HINT if exc.details.get("problem") == "nonfinite" else HINT
            raise InvalidInput(f"refused: {reason}; {hint}", shape=describe(feeds)) from exc
        tried.append(describe(feeds))
    return tried
