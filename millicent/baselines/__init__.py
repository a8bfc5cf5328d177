"""What pay-per-request is compared with, standing apart from the harness that measures it.

:mod:`.server` (one always-on process, vectors in memory), :mod:`.torch_engine` (the
function with its forward pass in PyTorch, as the paper's), :mod:`.footprint` (what a
function's dependencies weigh) and :mod:`.parity` (does the deployed function answer
exactly like the model run in-process?).
"""
