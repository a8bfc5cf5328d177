"""Rebuild a served model from an artifact by its manifest's ``kind`` (see :mod:`.kinds`)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import cast

from millicent.errors import ArtifactError
from millicent.runtime.artifact import Artifact, load_artifact
from millicent.runtime.kinds import KINDS
from millicent.runtime.roles import ServedModel

Factory = Callable[[Artifact], ServedModel]


def factory(kind: str) -> Factory:
    """The factory of ``kind``, imported now (its module may need an optional library)."""
    try:
        module_name, _, attr = KINDS[kind].partition(":")
    except KeyError:
        raise ArtifactError(f"unknown model kind {kind!r} (known: {tuple(KINDS)})") from None
    return cast(Factory, getattr(importlib.import_module(module_name), attr))


def build_model(artifact: Artifact) -> ServedModel:
    """The served model of a loaded artifact; its role must be the manifest's."""
    model = factory(artifact.kind)(artifact)
    if model.role != artifact.manifest.role:
        raise ArtifactError(f"{artifact.path}: kind {artifact.kind!r} builds a {model.role} "
                            f"model but the manifest says {artifact.manifest.role!r}")
    return model


def load_model(path: str | os.PathLike[str]) -> ServedModel:
    """Rebuild the model stored in the artifact directory ``path``."""
    return build_model(load_artifact(path))
