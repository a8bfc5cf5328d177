"""Tooling that turns a user's own network into a millicent artifact (``millicent import``).

Needs the ``onnx`` extra (``onnx`` to read the graph's declaration, ``onnxruntime`` to
run it); the function itself needs only onnxruntime, and only for an ONNX artifact.
"""
