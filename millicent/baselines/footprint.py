"""What a function's dependencies weigh once installed: the lean runtime against PyTorch.

The paper's functions shipped PyTorch. millicent's function ships numpy and its own
``runtime/``, ``store/`` and base modules. :func:`function_footprint` measures both from
the installed distributions (``importlib.metadata``: every file a distribution recorded,
its size on disk here), following each distribution's requirements that apply on this
machine (markers evaluated, optional extras not followed):

* ``lean``: numpy and its requirements + millicent's function modules;
* ``torch``: the same + ``torch`` and its requirements + millicent's ``torch_models/`` (the torch
  networks the baseline rebuilds).

Installed size is what counts against Lambda's 250 MB unzipped limit for a zip package
(and what a container image must carry); pure metadata, nothing is imported.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import millicent

#: millicent's modules inside the function package (see docs/deploy.md)
FUNCTION_MODULES = ("runtime", "tokenizers", "store", "errors.py", "types.py", "config.py",
                    "__init__.py")
MB = 1 << 20


def _requirement_names(dist: md.Distribution) -> list[str]:
    """Names of the requirements of ``dist`` that apply here (no extras)."""
    names = []
    for spec in dist.requires or []:
        try:
            from packaging.requirements import Requirement

            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            names.append(req.name)
        except ImportError:  # pragma: no cover - packaging is everywhere pip is
            if "extra ==" in spec:
                continue
            match = re.match(r"[A-Za-z0-9_.-]+", spec)
            if match:
                names.append(match.group(0))
    return names


def closure(roots: Iterable[str]) -> list[str]:
    """The installed distributions ``roots`` need, themselves included (sorted names)."""
    seen: dict[str, md.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # not installed here (an optional or platform-specific requirement)
        seen[key] = dist
        todo.extend(_requirement_names(dist))
    return sorted(seen)


def installed_bytes(name: str) -> int:
    """Bytes on disk of every file distribution ``name`` recorded (0 if not installed)."""
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return 0
    total = 0
    for f in dist.files or []:
        try:
            total += Path(str(dist.locate_file(f))).stat().st_size
        except OSError:
            continue
    return total


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*.py") if p.is_file())


def millicent_bytes(parts: Iterable[str]) -> int:
    """Source bytes of millicent's modules (``runtime``, ``store``, ``errors.py`` ...)."""
    root = Path(millicent.__file__).parent
    return sum(_tree_bytes(root / p) for p in parts if (root / p).exists())


@dataclass
class Footprint:
    """Installed size of one function's dependencies, by distribution."""

    name: str
    distributions: dict[str, int] = field(default_factory=dict)  #: name → bytes
    millicent_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.distributions.values()) + self.millicent_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "total_mb": self.total_bytes / MB,
                "millicent_kb": self.millicent_bytes / 1024,
                "distributions_mb": {k: v / MB for k, v in sorted(self.distributions.items())}}


#: the distributions each engine's function adds to numpy (``whole``: a transformer's whole
#: network in onnxruntime, its ``tokenizers`` in front)
ENGINE_ROOTS = {"torch": ("torch",), "onnxruntime": ("onnxruntime",),
                "whole": ("onnxruntime", "tokenizers")}


def function_footprint(engine: str) -> Footprint:
    """Dependencies of a function whose forward pass runs in ``engine`` (numpy,
    onnxruntime, torch or whole)."""
    roots = ["numpy", *ENGINE_ROOTS.get(engine, ())]
    parts = FUNCTION_MODULES + (("torch_models",) if engine == "torch" else ())
    fp = Footprint(engine if engine in ENGINE_ROOTS else "lean",
                   millicent_bytes=millicent_bytes(parts))
    for name in closure(roots):
        fp.distributions[name] = installed_bytes(name)
    return fp
