"""What input a batch job read: path, size, sha256 and line count, so a resumed job
can refuse a file that is not the one it started on."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from millicent.errors import DataError

CHUNK = 1 << 20


@dataclass(frozen=True)
class InputIdentity:
    """An input file as a job saw it; ``lines`` is None for a gzipped file (not counted)."""

    path: str
    size: int
    sha256: str
    lines: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputIdentity:
        return cls(str(d["path"]), int(d["size"]), str(d["sha256"]),
                   None if d.get("lines") is None else int(d["lines"]))

    def differs(self, other: InputIdentity) -> str | None:
        """Why ``other`` is not this same input (None when it is)."""
        if other.size != self.size:
            return f"its size changed from {self.size:,} to {other.size:,} bytes"
        if other.sha256 != self.sha256:
            return "its content changed (sha256 differs)"
        return None


def identify(path: str | Path) -> InputIdentity:
    """Hash and count the lines of ``path`` in one streamed pass (1 MiB at a time)."""
    p = Path(path)
    h = hashlib.sha256()
    newlines, size, last = 0, 0, b""
    try:
        with open(p, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                newlines += chunk.count(b"\n")
                size += len(chunk)
                last = chunk[-1:]
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file", path=str(path)) from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}", path=str(path)) from exc
    gz = _gzipped(p)
    lines = None if gz else newlines + (1 if size and last != b"\n" else 0)
    return InputIdentity(str(p.resolve()), size, h.hexdigest(), lines)


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"
