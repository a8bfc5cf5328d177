"""The ``torch`` baseline: the same function with the forward pass in PyTorch.

The paper's functions ran PyTorch inside Lambda. This module is a Lambda handler for that
comparison: request parsing, tokenization, the store lookups and the response are
millicent's own (:func:`millicent.runtime.handler.handle`); only the models differ — their
``predict_batch`` / ``score_batch`` run the PyTorch networks of :mod:`millicent.torch_models`,
rebuilt from the artifact's weights. torch is imported in the execution environment on the
first invocation, so its import time lands in the cold start as it did in the paper.

Serve it with ``millicent serve --function NAME=millicent.baselines.torch_engine.handler`` and
the function environment variables (``MILLICENT_MODELS`` ...). It is tooling, never part
of the function package millicent deploys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from millicent.config import FunctionConfig
from millicent.runtime.artifact import Artifact
from millicent.runtime.environment import FunctionEnvironment, init_at_import
from millicent.runtime.handler import handle, prime
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Classifier, Pairs, Ranker, ServedModel
from millicent.tokenizers.base import Encoding


def _net(artifact: Artifact) -> Any:
    """The torch network of an artifact (torch imported here, in the first invocation)."""
    from millicent.torch_models.rebuild import torch_model_from_artifact

    return torch_model_from_artifact(artifact)


def _padded(embs: Sequence[np.ndarray], dim: int) -> tuple[Any, Any]:
    import torch

    lengths = [int(e.shape[0]) for e in embs]
    x = torch.zeros(len(embs), max([1, *lengths]), dim)
    for i, e in enumerate(embs):
        if lengths[i]:
            x[i, : lengths[i]] = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))
    return x, torch.tensor(lengths)


class TorchClassifier(Classifier):
    """A Kim CNN whose forward pass runs in PyTorch."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.net = _net(artifact)

    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        import torch

        x, lengths = _padded(embs, self.dim)
        with torch.inference_mode():
            return np.asarray(torch.softmax(self.net.forward_embedded(x, lengths), dim=1).numpy())


class TorchRanker(Ranker):
    """An SM CNN whose forward pass runs in PyTorch (overlap features computed as in numpy)."""

    def __init__(self, artifact: Artifact, numpy_model: Ranker) -> None:
        super().__init__(artifact)
        self.net = _net(artifact)
        self._features = getattr(numpy_model, "features", None)
        self.needs_tokens = numpy_model.needs_tokens

    def relevance(self, pairs: Pairs) -> np.ndarray:
        import torch

        if not pairs.a_embs:
            return np.zeros(0, dtype=np.float32)
        q, q_len = _padded([pairs.q_emb] * len(pairs.a_embs), self.dim)
        a, a_len = _padded(pairs.a_embs, self.dim)
        feats = None
        if self._features is not None:
            if pairs.q_tokens is None or pairs.a_tokens is None:
                raise ValueError("this ranker needs the question and answer tokens")
            feats = torch.from_numpy(np.stack([self._features(pairs.q_tokens, t)
                                               for t in pairs.a_tokens]).astype(np.float32))
        with torch.inference_mode():
            logits = self.net.forward_embedded(q, q_len, a, a_len, feats)
            return np.asarray(torch.softmax(logits, dim=1)[:, 1].numpy())


def load_torch_models(config: FunctionConfig) -> dict[str, ServedModel]:
    """The configured models with PyTorch forward passes (one thread, like a small Lambda)."""
    import torch

    torch.set_num_threads(1)
    models: dict[str, ServedModel] = {}
    for name, path in config.models:
        reference = load_model(path)  # validates the artifact; keeps the feature extractor
        if isinstance(reference, Classifier):
            models[name] = TorchClassifier(reference.artifact)
        elif isinstance(reference, Ranker):
            models[name] = TorchRanker(reference.artifact, reference)
        else:  # no PyTorch rebuild of this role: served as millicent serves it
            models[name] = reference
    return models


ENVIRONMENT = FunctionEnvironment(models=load_torch_models)
init_at_import(ENVIRONMENT, prime)  # INIT as in millicent's own function: the two compare alike


def handler(event: Any, context: Any) -> Any:
    """Lambda entry point of the ``torch`` baseline."""
    return handle(event, context, ENVIRONMENT)
