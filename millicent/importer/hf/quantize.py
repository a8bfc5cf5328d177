"""int8 candidates of the table-less graph (``onnxruntime.quantization.quantize_dynamic``).

Dynamic quantization: weights int8 per output channel, activations quantized per batch at
run time. Only MatMuls with a constant weight are quantized (the position and type tables
stay float32). The candidates, from the smallest graph up — the configurations DESIGN
measured on all-MiniLM-L6-v2 (min / mean cosine to fp32 on 200 sentences):

1. ``per-channel`` — every weight MatMul int8 (0.968 / 0.992, ≈ 12 MB);
2. ``per-channel, FFN-down fp32 in layer i`` — one layer's feed-forward output MatMul left
   float32, for each layer in turn (≈ 14 MB for MiniLM): a fine-tuned model that misses the
   gate by a little usually has one layer whose int8 error matters more than the others'
   (all-MiniLM-L6-v2's TrecQA cross-encoder: MAP off by 0.0120 all int8; 0.0135, 0.0119 and
   0.0078 with layer 0, 1 or 2 kept float32), and one layer costs 1.8 MB where all six cost 11;
3. ``per-channel, FFN-down fp32`` — the feed-forward output MatMuls left float32
   (0.979 / 0.995, ≈ 23 MB);
4. ``per-channel, FFN fp32`` — both feed-forward MatMuls float32 (0.993 / 0.998, ≈ 33 MB).

The feed-forward MatMuls are found by their weights' shapes: ``[hidden, intermediate]``
(up) and ``[intermediate, hidden]`` (down); a model whose intermediate size equals its
hidden size cannot tell them from attention projections, so only the first candidate is
offered for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from millicent.errors import ArtifactError


@dataclass(frozen=True)
class Int8Config:
    """One int8 candidate: which feed-forward MatMuls stay float32."""

    name: str
    keep_up: bool = False
    keep_down: bool = False
    #: the layers (in graph order) whose feed-forward output MatMul alone stays float32
    down_layers: tuple[int, ...] = ()


CONFIGS = (
    Int8Config("per-channel"),
    Int8Config("per-channel, FFN-down fp32", keep_down=True),
    Int8Config("per-channel, FFN fp32", keep_up=True, keep_down=True),
)


def candidates(hidden: int, intermediate: int, layers: int = 0) -> tuple[Int8Config, ...]:
    """The configurations to try, smallest graph first (see the module docstring);
    ``layers``: how many feed-forward blocks the graph has."""
    if intermediate == hidden or intermediate <= 0:
        return CONFIGS[:1]
    one_layer = tuple(Int8Config(f"per-channel, FFN-down fp32 in layer {i}", down_layers=(i,))
                      for i in range(layers))
    return (CONFIGS[0], *one_layer, *CONFIGS[1:])


def ffn_matmuls(graph: Path, hidden: int, intermediate: int) -> tuple[list[str], list[str]]:
    """Names of the feed-forward MatMul nodes: ``(up, down)``, by their weights' shapes."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    up: list[str] = []
    down: list[str] = []
    for node in model.graph.node:
        if node.op_type != "MatMul" or len(node.input) < 2:
            continue
        shape = shapes.get(node.input[1])
        if shape == (hidden, intermediate):
            up.append(node.name)
        elif shape == (intermediate, hidden):
            down.append(node.name)
    return up, down


def quantize(fp32: Path, out: Path, config: Int8Config, hidden: int, intermediate: int) -> Path:
    """Write the int8 graph of ``config`` to ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    up, down = ffn_matmuls(fp32, hidden, intermediate)
    if (config.keep_up and not up) or (config.keep_down and not down):
        raise ArtifactError(f"{fp32}: no feed-forward MatMul of shape [{hidden}, {intermediate}] "
                            f"/ [{intermediate}, {hidden}] to keep in float32")
    if any(i >= len(down) for i in config.down_layers):
        raise ArtifactError(f"{fp32}: {config.name}: the graph has {len(down)} feed-forward blocks")
    exclude = ((up if config.keep_up else []) + (down if config.keep_down else [])
               + [down[i] for i in config.down_layers])
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises "pre-processing" on the root logger every time
    try:
        quantize_dynamic(fp32, out, op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                         extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)
    return out
