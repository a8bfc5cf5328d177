"""int8 candidates of the table-less graph, from the smallest graph up.

Two ways of quantizing, both from ``onnxruntime.quantization``, both only the MatMuls with a
constant weight (the position and type tables stay float32):

* **dynamic** (``quantize_dynamic``): weights int8 per output channel, activations
  quantized per batch at run time (so an answer depends a little on what else is in its
  batch);
* **weight-only** (``MatMulNBitsQuantizer``, 8 bits, symmetric, blocks of 128 along the
  input axis, ``accuracy_level`` 4): weights int8 with a scale per block; each token's
  activations are quantized per block of its own row at run time, so a text's answer does
  not depend on what else is in its batch, and it stays closer to fp32. Level 4 (int8
  compute) runs as fast as fp32 at batch 1 × 20 tokens (27 ms each under load, dynamic 15
  ms); the default level (dequantize the weights, float32 compute) took 77–100 ms.

The candidates (figures: DESIGN's min / mean cosine to fp32 on 200 sentences for
all-MiniLM-L6-v2, and what this module's gate measured on the fine-tuned models):

1. ``per-channel`` — dynamic, every weight MatMul (0.968 / 0.992, ≈ 12.5 MB);
2. ``weight-only`` — (≈ 13.2 MB): the SST-2 classifier fine-tuned from MiniLM keeps
   99.3 % of its labels on SST-1 dev sentences where ``per-channel`` keeps 97.3 %, the
   TrecQA cross-encoder's raw-dev MAP moves by 0.0039 where ``per-channel`` moves it 0.0120;
3. ``per-channel, FFN-down fp32 in layer i`` — one layer's feed-forward output MatMul left
   float32, for each layer in turn (≈ 14.3 MB): the TrecQA cross-encoder's MAP was off by
   0.0120 all dynamic, 0.0135 / 0.0119 / 0.0078 with layer 0 / 1 / 2 kept float32;
4. ``per-channel, FFN-down fp32`` — every feed-forward output MatMul float32
   (0.979 / 0.995, ≈ 23 MB);
5. ``per-channel, FFN fp32`` — both feed-forward MatMuls float32 (0.993 / 0.998, ≈ 33 MB).

The feed-forward MatMuls are found by their weights' shapes: ``[hidden, intermediate]``
(up) and ``[intermediate, hidden]`` (down); a model whose intermediate size equals its
hidden size cannot tell them from attention projections, so only the first two candidates
are offered for it.
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
    #: weight-only int8 (``MatMulNBits``, activations float32) instead of dynamic
    weight_only: bool = False

    @property
    def method(self) -> str:
        """How the graph was quantized (recorded in the manifest)."""
        if self.weight_only:
            return (f"onnxruntime MatMulNBitsQuantizer, {WEIGHT_ONLY_BITS}-bit symmetric weights "
                    f"in blocks of {WEIGHT_ONLY_BLOCK}, accuracy_level "
                    f"{WEIGHT_ONLY_ACCURACY_LEVEL} (int8 compute per row block), MatMul only")
        return "onnxruntime quantize_dynamic, QInt8 weights per channel, MatMul only"


WEIGHT_ONLY_BITS = 8
WEIGHT_ONLY_BLOCK = 128
#: int8 compute: activations quantized per row block (see the module docstring)
WEIGHT_ONLY_ACCURACY_LEVEL = 4
WEIGHT_ONLY = Int8Config("weight-only", weight_only=True)
CONFIGS = (
    Int8Config("per-channel"),
    Int8Config("per-channel, FFN-down fp32", keep_down=True),
    Int8Config("per-channel, FFN fp32", keep_up=True, keep_down=True),
)


def candidates(hidden: int, intermediate: int, layers: int = 0) -> tuple[Int8Config, ...]:
    """The configurations to try, smallest graph first (see the module docstring);
    ``layers``: how many feed-forward blocks the graph has."""
    if intermediate == hidden or intermediate <= 0:
        return (CONFIGS[0], WEIGHT_ONLY)
    one_layer = tuple(Int8Config(f"per-channel, FFN-down fp32 in layer {i}", down_layers=(i,))
                      for i in range(layers))
    return (CONFIGS[0], WEIGHT_ONLY, *one_layer, *CONFIGS[1:])


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
    if config.weight_only:
        return _weight_only(fp32, out)
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


def _weight_only(fp32: Path, out: Path) -> Path:
    """The weight-only int8 graph (see the module docstring)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    config = DefaultWeightOnlyQuantConfig(block_size=WEIGHT_ONLY_BLOCK, is_symmetric=True,
                                          bits=WEIGHT_ONLY_BITS,
                                          accuracy_level=WEIGHT_ONLY_ACCURACY_LEVEL)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32)), bits=WEIGHT_ONLY_BITS,
                                     block_size=WEIGHT_ONLY_BLOCK, is_symmetric=True,
                                     accuracy_level=WEIGHT_ONLY_ACCURACY_LEVEL,
                                     algo_config=config)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it logs every node it quantizes
    try:
        quantizer.process()
    finally:
        root.setLevel(level)
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)
    return out


def config_named(name: str | None, hidden: int, intermediate: int, layers: int) -> Int8Config | None:
    """The candidate called ``name`` (None: the first) for a graph of ``layers``
    feed-forward blocks, or None when there is none of that name."""
    offered = candidates(hidden, intermediate, layers)
    return next((c for c in offered if c.name == (name or offered[0].name)), None)
