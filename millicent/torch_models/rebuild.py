"""Rebuild the PyTorch network of a runtime artifact (parity tests, the ``torch`` baseline)."""

from __future__ import annotations

import numpy as np
import torch

from millicent.runtime.artifact import Artifact
from millicent.torch_models.kim_cnn import KimCNN, KimCNNConfig
from millicent.torch_models.sm_cnn import SMCNN, SMCNNConfig


def torch_model_from_artifact(artifact: Artifact, n_words: int = 0) -> torch.nn.Module:
    """The torch network of an artifact in eval mode, its embedding table left at zeros.

    Inputs are expected already embedded (the table lives in the store), so ``n_words`` is
    only the size of the placeholder table.
    """
    config = artifact.manifest.config
    model: torch.nn.Module
    if artifact.kind == "kim_cnn":
        model = KimCNN(KimCNNConfig(**config), n_words, trainable_embeddings=False)
    else:
        model = SMCNN(SMCNNConfig(**config), n_words)
    state = {k: torch.from_numpy(np.array(v)) for k, v in artifact.weights.items()}
    state["embedding.weight"] = torch.zeros(n_words + 1, artifact.dim)
    model.load_state_dict(state)
    return model.eval()
