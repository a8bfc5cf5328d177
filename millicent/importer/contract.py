"""The serving contract, checked against what a graph declares (before it is ever run).

A classifier takes one float32 ``[batch, tokens, dim]`` input (and optionally int64
``[batch]`` lengths); a ranker takes a question and an answer of that form (and
optionally the lengths of both). Inputs are matched by type and order: the float inputs
are the texts (question first), the integer inputs their lengths (in the same order).
Batch and token axes must be dynamic, ``dim`` must be the vectors' dimension. Every
mismatch is an :class:`~millicent.errors.InvalidInput` naming the input and what to do.
The declared output is checked as far as it is declared; running the graph
(:mod:`.probe`) settles the rest.
"""

from __future__ import annotations

from millicent.errors import InvalidInput
from millicent.importer.graph import GraphInfo, TensorInfo
from millicent.runtime.onnx_section import (
    CLASSIFY_KINDS,
    LENGTH_ROLES,
    OUTPUT_KINDS,
    TEXT_ROLES,
    OnnxSection,
)

INTEGER_TYPES = ("int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8")
_EXPORT_HINT = ("export with dynamic axes: torch.onnx.export(..., dynamic_axes={NAME: {0: 'batch', "
                "1: 'tokens'}}) or, with dynamo=True, dynamic_shapes")


def _usage(role: str) -> str:
    if role == "classify":
        return ("a classifier takes one input float32 [batch, tokens, dim] (the embedded text) and "
                "optionally one int64 [batch] (its lengths)")
    return ("a ranker takes two inputs float32 [batch, tokens, dim] (question, then answer) and "
            "optionally two int64 [batch] (their lengths, in the same order)")


def _dynamic(info: TensorInfo, axis: int, what: str) -> None:
    size = (info.shape or ())[axis]  # callers checked the rank
    if isinstance(size, int):
        hint = _EXPORT_HINT.replace("NAME", repr(info.name))
        raise InvalidInput(f"input {info.describe()} has a fixed {what} axis of {size} (axis "
                           f"{axis}); the {what} axis must be dynamic: {hint}",
                           input=info.name, axis=axis)


def _check_form(info: TensorInfo, dtype: str, rank: int, form: str) -> None:
    """InvalidInput naming the input and ``form`` unless it has ``dtype`` and ``rank``."""
    if info.dtype != dtype:
        raise InvalidInput(f"input {info.describe()} is {info.dtype}: {form}", input=info.name)
    if info.rank != rank:
        got = "of unknown rank" if info.rank is None else f"of rank {info.rank}"
        raise InvalidInput(f"input {info.describe()} is {got}: {form}", input=info.name)


def check_text_input(info: TensorInfo, role: str, dim: int, vectors: str) -> None:
    """An embedded-text input: float32, rank 3, dynamic batch and tokens, ``dim`` wide."""
    _check_form(info, "float32", 3, f"the {role} input must be float32 [batch, tokens, {dim}]")
    _dynamic(info, 0, "batch")
    _dynamic(info, 1, "token")
    width = (info.shape or ())[2]
    if isinstance(width, int) and width != dim:
        raise InvalidInput(f"input {info.describe()} takes {width}-d vectors but {vectors} "
                           f"has {dim}-d vectors: give vectors of the graph's dimension "
                           "(--vectors PATH or --learned-table)", input=info.name)


def check_lengths_input(info: TensorInfo, role: str) -> None:
    """A lengths input: int64, rank 1, dynamic batch."""
    _check_form(info, "int64", 1, f"the {role} input must be int64 [batch]")
    _dynamic(info, 0, "batch")


def _distinct_token_axes(question: TensorInfo, answer: TensorInfo) -> None:
    """A question and an answer of any two lengths: their token axes must not share a name
    (a shared symbolic dimension declares them equal, and onnxruntime plans memory so)."""
    q, a = (question.shape or ())[1], (answer.shape or ())[1]
    if isinstance(q, str) and q == a:
        raise InvalidInput(
            f"inputs {question.describe()} and {answer.describe()} share the token axis {q!r}, "
            "which declares every question as long as its answer: give each its own name, e.g. "
            f"dynamic_axes={{{question.name!r}: {{0: 'batch', 1: 'q_tokens'}}, {answer.name!r}: "
            "{0: 'batch', 1: 'a_tokens'}}", inputs=[question.name, answer.name])


def match_inputs(graph: GraphInfo, role: str, dim: int, vectors: str) -> dict[str, str]:
    """The graph's input name for each role; InvalidInput naming the input that does not fit."""
    texts = [i for i in graph.inputs if i.dtype not in INTEGER_TYPES]
    lengths = [i for i in graph.inputs if i.dtype in INTEGER_TYPES]
    text_roles, length_roles = TEXT_ROLES[role], LENGTH_ROLES[role]
    if len(texts) != len(text_roles) or len(lengths) not in (0, len(length_roles)):
        declared = ", ".join(i.describe() for i in graph.inputs) or "none"
        raise InvalidInput(f"{graph.path}: {_usage(role)}; the graph's inputs: {declared}",
                           inputs=[i.name for i in graph.inputs])
    for info, r in zip(texts, text_roles, strict=True):
        check_text_input(info, r, dim, vectors)
    for info, r in zip(lengths, length_roles[: len(lengths)], strict=True):
        check_lengths_input(info, r)
    if len(texts) == 2:
        _distinct_token_axes(*texts)
    pairs = [*zip(text_roles, texts, strict=True), *zip(length_roles[: len(lengths)], lengths, strict=True)]
    return {r: info.name for r, info in pairs}


def declared_width(output: TensorInfo, role: str) -> int | None:
    """The output's declared width (None: ``[batch]`` or not declared); InvalidInput if its
    declared form cannot be the contract's."""
    if output.dtype not in ("float32", "float64", "float16"):
        raise InvalidInput(f"output {output.describe()} is {output.dtype}: the output must hold "
                           "floats (logits, probabilities or a score)", output=output.name)
    if output.shape is None:
        return None
    allowed = (2,) if role == "classify" else (1, 2)
    if output.rank not in allowed:
        form = "[batch, n_labels]" if role == "classify" else "[batch], [batch, 1] or [batch, 2]"
        raise InvalidInput(f"output {output.describe()} is of rank {output.rank}: a {role} "
                           f"graph answers {form}", output=output.name)
    width = output.shape[1] if len(output.shape) == 2 else None
    return width if isinstance(width, int) else None


def output_kind(role: str, width: int | None, asked: str | None) -> str:
    """The output's kind: ``asked`` (checked to fit), else logits for a classifier and for
    a two-column ranker, score for a one-column one; InvalidInput when it cannot fit."""
    if asked is not None and asked not in OUTPUT_KINDS:
        raise InvalidInput(f"--outputs must be one of {', '.join(OUTPUT_KINDS)}, got {asked!r}")
    if role == "classify":
        if asked is not None and asked not in CLASSIFY_KINDS:
            raise InvalidInput(f"--outputs {asked}: a classifier's output is "
                               f"{' or '.join(CLASSIFY_KINDS)}")
        return asked or "logits"
    if width is not None and width > 2:
        raise InvalidInput(f"a ranker's output is [batch] or [batch, 1] (a score) or [batch, 2] "
                           f"(two classes); the graph answers {width} columns")
    kind = asked or ("logits" if width == 2 else "score")
    if (kind == "score") != (width in (None, 1)):
        want = "[batch] or [batch, 1]" if kind == "score" else "[batch, 2]"
        got = "[batch]" if width is None else f"[batch, {width}]"
        raise InvalidInput(f"--outputs {kind} needs an output {want}; the graph answers {got}")
    return kind


def check_labels(role: str, labels: tuple[str, ...], width: int | None, output: str) -> None:
    """A classifier names one label per output column; a ranker takes none."""
    if role == "rank":
        if labels:
            raise InvalidInput("--labels is for classifiers: a ranker answers one score per answer")
        return
    if not labels:
        what = f"{width} labels" if width is not None else "one label per output column"
        raise InvalidInput(f"a classifier needs --labels ({what}, comma-separated, in the order "
                           "of the output's columns)")
    if len(set(labels)) != len(labels):
        raise InvalidInput(f"--labels repeats a label: {', '.join(labels)}")
    if width is not None and width != len(labels):
        raise InvalidInput(f"the graph's output {output!r} has {width} columns but {len(labels)} "
                           f"labels were given ({', '.join(labels)}): give one label per column",
                           width=width, labels=len(labels))


def section_for(graph: GraphInfo, role: str, dim: int, vectors: str, asked: str | None,
                width: int | None) -> OnnxSection:
    """The manifest section of a graph that fits the contract (``width``: the output's
    number of columns, None for ``[batch]``)."""
    inputs = match_inputs(graph, role, dim, vectors)
    return OnnxSection(role=role, inputs=inputs, output=graph.outputs[0].name,
                       output_kind=output_kind(role, width, asked),
                       external_data=graph.external_data)
