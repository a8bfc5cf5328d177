"""Kim CNN forward pass in numpy (the serving twin of ``millicent.torch_models.kim_cnn``).

Per width k: wide convolution → max over time → ReLU; concatenate; linear; softmax.
Dropout is the identity at inference. Weight names are the torch parameter names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from millicent.errors import ArtifactError
from millicent.runtime.artifact import Artifact
from millicent.runtime.conv import WideConv, encode
from millicent.runtime.roles import Classifier, check_input, softmax
from millicent.tokenizers.base import Encoding


class KimCNN(Classifier):
    """Numpy Kim CNN rebuilt from an artifact of kind ``kim_cnn``."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        widths = artifact.manifest.config.get("widths")
        if not widths:
            raise ArtifactError(f"{artifact.path}: config.widths missing")
        self.convs = [
            WideConv(artifact.weight(f"convs.{i}.weight"), artifact.weight(f"convs.{i}.bias"))
            for i in range(len(widths))
        ]
        for conv, k in zip(self.convs, widths, strict=True):
            if conv.k != k or conv.dim != self.dim:
                raise ArtifactError(
                    f"{artifact.path}: conv weight {conv.k}×{conv.dim} does not match "
                    f"width {k} × dim {self.dim}"
                )
        self.fc_t = np.ascontiguousarray(artifact.weight("fc.weight").T)  # (features, classes)
        self.fc_b = artifact.weight("fc.bias")
        if self.fc_b.shape[0] != len(self.labels):
            raise ArtifactError(
                f"{artifact.path}: {self.fc_b.shape[0]} outputs but {len(self.labels)} labels"
            )

    def logits_batch(self, embs: Sequence[np.ndarray]) -> np.ndarray:
        """Logits (B, n_classes)."""
        if not embs:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        checked = [check_input(e, self.dim) for e in embs]
        features = np.maximum(encode(self.convs, checked), 0.0)  # ReLU after max (monotone)
        return features @ self.fc_t + self.fc_b

    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """Probabilities (B, n_classes) for B texts' word vectors (the encodings unused)."""
        return softmax(self.logits_batch(embs))
