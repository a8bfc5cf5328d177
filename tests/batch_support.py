"""Comparing batch result files: the same lines, labels and errors, probabilities within
1e-6 (a batched forward pass may differ from another batch's in the last float bits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_same_results(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g["line"] == w["line"]
        assert g.keys() == w.keys(), g["line"]
        if "error" in w:
            assert g == w
            continue
        assert g["label"] == w["label"] and g["label_index"] == w["label_index"], g["line"]
        assert g["probabilities"] == pytest.approx(w["probabilities"], abs=1e-6), g["line"]
        assert g["tokens"] == w["tokens"] and g["unknown_words"] == w["unknown_words"]
