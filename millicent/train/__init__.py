"""Training, export and evaluation (tooling layer).

Only ``kim``, ``sm``, ``loop`` and ``export`` import torch; ``metrics`` and ``evaluate``
are numpy-only so ``millicent eval`` and the demo run without torch.
"""
