"""What an ONNX file declares: its inputs, outputs, external data files and provenance.

Read with the ``onnx`` package (the ``onnx`` extra), without loading the weights: a graph
with external data is inspected from its small ``.onnx`` file, and the data files it names
are only checked to exist beside it. Anything that is not a valid ONNX model is refused
here with :class:`~millicent.errors.InvalidInput` naming the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.errors import InvalidInput, missing_extra
from millicent.runtime.onnx_section import safe_relative

#: one declared axis: a fixed size, a symbolic name (dynamic), or None (unknown, dynamic)
Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    """A declared graph input or output: name, element type, shape (None: rank unknown)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...] | None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    def describe(self) -> str:
        """``'emb' float32 [batch, tokens, 50]`` — for messages."""
        shape = "[?]" if self.shape is None else "[" + ", ".join(
            "?" if d is None else str(d) for d in self.shape) + "]"
        return f"{self.name!r} {self.dtype} {shape}"


@dataclass(frozen=True)
class GraphInfo:
    """An ONNX file's declared interface and where its weights live."""

    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    #: files beside the graph holding its tensors (``model.onnx.data``), relative names
    external_data: tuple[str, ...]
    ir_version: int
    opset: int | None
    producer: str
    sha256: str


def _onnx() -> Any:
    try:
        import onnx
    except ModuleNotFoundError as exc:
        if exc.name == "onnx":
            raise missing_extra("onnx", "onnx") from exc
        raise
    return onnx


def _tensor_info(value: Any, onnx: Any) -> TensorInfo:
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type"):
        return TensorInfo(value.name, "not a tensor", None)
    try:
        dtype = str(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    except (KeyError, TypeError, ValueError):
        dtype = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
    if not tensor.HasField("shape"):
        return TensorInfo(value.name, dtype, None)
    dims: list[Dim] = []
    for d in tensor.shape.dim:
        which = d.WhichOneof("value")
        dims.append(d.dim_value if which == "dim_value" else d.dim_param if which == "dim_param" else None)
    return TensorInfo(value.name, dtype, tuple(dims))


def _tensors(graph: Any) -> Iterator[Any]:
    """Every tensor stored in a graph: initializers and constant attributes, subgraphs too."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def _external_files(model: Any, path: Path, onnx: Any) -> tuple[str, ...]:
    """The external data files the graph names, each checked to exist beside it."""
    names: dict[str, None] = {}
    for tensor in _tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        if not safe_relative(location):
            raise InvalidInput(f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, "
                               "which is not a file beside the graph")
        names.setdefault(location, None)
    for name in names:
        if not (path.parent / name).is_file():
            raise InvalidInput(f"{path}: its weights are in the external data file {name!r}, "
                               f"which is not beside it ({path.parent / name} not found)")
    return tuple(names)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_graph(path: str | Path) -> GraphInfo:
    """The declared interface of the ONNX file ``path``; InvalidInput if it is not one."""
    onnx = _onnx()
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{p}: no such ONNX file")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, or onnx's own: any means "not ONNX"
        raise InvalidInput(f"{p} is not an ONNX model: {exc}") from exc
    if not model.graph.node or not model.ir_version:
        raise InvalidInput(f"{p} is not an ONNX model: it holds no graph")
    external = _external_files(model, p, onnx)
    try:
        onnx.checker.check_model(str(p))  # by path: reads external data, no 2 GB limit
    except Exception as exc:  # onnx.checker.ValidationError and protobuf errors
        raise InvalidInput(f"{p} is not a valid ONNX model: {exc}") from exc
    stored = {t.name for t in model.graph.initializer}
    opsets = {o.domain: o.version for o in model.opset_import}
    return GraphInfo(
        path=p,
        # before IR 4 initializers were listed as inputs too; they are weights, not inputs
        inputs=tuple(_tensor_info(i, onnx) for i in model.graph.input if i.name not in stored),
        outputs=tuple(_tensor_info(o, onnx) for o in model.graph.output),
        external_data=external,
        ir_version=int(model.ir_version),
        opset=opsets.get("", opsets.get("ai.onnx")),
        producer=f"{model.producer_name} {model.producer_version}".strip(),
        sha256=_sha256(p),
    )
