"""Torch model ⇄ runtime artifact.

:func:`export_model` writes the network's parameters (torch names, float32, without the
embedding table) to ``weights.npz`` and, for learned tables (non-static / rand), the table
to ``embeddings.npz`` for loading into a store. :func:`millicent.torch_models.rebuild.torch_model_from_artifact`
goes back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from millicent.runtime.artifact import Manifest, save_artifact
from millicent.train.table import WordTable


def network_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The parameters the runtime needs: everything except the embedding table."""
    return {
        name: t.detach().cpu().numpy().astype(np.float32)
        for name, t in model.state_dict().items()
        if not name.startswith("embedding.")
    }


def learned_table(model: torch.nn.Module, table: WordTable) -> tuple[list[str], np.ndarray]:
    """The (fine-tuned or learned) embedding rows of ``table``'s words."""
    weight = model.state_dict()["embedding.weight"].detach().cpu().numpy()
    return list(table.keys), np.ascontiguousarray(weight[1:], dtype=np.float32)


def export_model(
    path: str | os.PathLike[str],
    model: torch.nn.Module,
    manifest: Manifest | dict[str, Any],
    table: WordTable | None = None,
    idf: tuple[list[str], np.ndarray] | None = None,
) -> Path:
    """Write the artifact; ``table`` given ⇒ its learned rows go to ``embeddings.npz``."""
    embeddings = learned_table(model, table) if table is not None else None
    return save_artifact(path, manifest, network_weights(model), embeddings=embeddings, idf=idf)
