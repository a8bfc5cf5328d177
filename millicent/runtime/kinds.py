"""The model kinds the runtime serves: name → ``module:factory`` (imported only when used).

A factory takes an :class:`~millicent.runtime.artifact.Artifact` and returns a served
model of one role (:data:`~millicent.runtime.roles.ServedModel`).
Kept apart from :mod:`.registry` (and import-free) so the manifest reader can validate a
kind without importing any model, and an ONNX artifact alone imports onnxruntime.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    "kim_cnn": "millicent.runtime.kim_cnn:KimCNN",  # numpy Kim CNN (classify)
    "sm_cnn": "millicent.runtime.sm_cnn:SMCNN",  # numpy SM CNN (rank)
    "onnx": "millicent.runtime.onnx_model:build",  # a user's ONNX graph (either role; onnxruntime)
    "mean_vectors": "millicent.runtime.mean_vectors:MeanVectors",  # mean word vector (embed)
}

#: kinds whose artifact holds no ``weights.npz`` (a graph file, or nothing but the manifest)
WEIGHTLESS = frozenset({"onnx", "mean_vectors"})
