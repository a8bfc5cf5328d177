"""Reading a user's text file: the one place that opens it, finds its encoding and numbers
its lines, with one error for each way that fails.

Every reader of a file a user names (data files, requests, traces, REPORT logs, profiles)
goes through here, so each of them:

* names the file in every error (:class:`~millicent.errors.DataError` unless the caller
  asks for another class), and the line where there is one: ``FILE:LINE: what``;
* reads gzip transparently (recognised by its magic bytes, whatever the name);
* reads UTF-8, with or without a byte-order mark (spreadsheets write one), and UTF-16 or
  UTF-32 *with* a byte-order mark (Excel's "Unicode text"): the user meant text, so it is
  read as text. UTF-16 without a mark (NUL bytes between ASCII letters) is refused with what
  it looks like and how to convert it: guessing the byte order would read garbage;
* splits lines on ``\\n`` (``\\r\\n`` keeps its ``\\r``, as the csv module wants), or on
  ``\\r`` in a file whose lines end with CR alone (classic Mac);
* refuses what is not text at all (a ZIP archive such as an .xlsx workbook, a .npy array,
  a PDF ...) saying what it is.

:func:`iter_lines` reports invalid UTF-8 per line (decoded with replacement characters,
so a reader can count the line as bad and go on); :func:`read_lines` and :func:`read_text`
refuse it with the line it is on.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, cast

from millicent.errors import DataError, MillicentError

#: byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's mark)
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
         (codecs.BOM_UTF8, "UTF-8"), (codecs.BOM_UTF16_LE, "UTF-16"),
         (codecs.BOM_UTF16_BE, "UTF-16"))
_PROBE = 4096  # bytes looked at to recognise UTF-16 without a mark
#: files that are not text at all, by their first bytes: what they are, what to do
_NOT_TEXT = ((b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook? a .npz?)"),
             (b"\x93NUMPY", "a NumPy .npy array"), (b"%PDF", "a PDF document"),
             (b"\x89PNG", "a PNG image"), (b"\xd0\xcf\x11\xe0", "an old Office document (.xls?)"),
             (b"SQLite format 3\x00", "an SQLite database"), (b"MCPACK1\n", "a millicent pack"))


@dataclass(frozen=True)
class Line:
    """One physical line: its number (from 1), its text (with its line end), and what is
    wrong with its bytes (None when it decoded cleanly)."""

    n: int
    text: str
    bad: str | None = None


def open_binary(path: str | os.PathLike[str], what: str = "file",
                error: type[MillicentError] = DataError) -> IO[bytes]:
    """``path`` for reading bytes, gunzipped when it starts with gzip's magic bytes."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except FileNotFoundError as exc:
        raise error(f"cannot read {what} {path}: not found (no such file)", path=str(path)) from exc
    except IsADirectoryError as exc:
        raise error(f"{what} {path} is a directory, not a file", path=str(path)) from exc
    except OSError as exc:
        raise error(f"{what} {path}: cannot read: {exc.strerror or exc}", path=str(path)) from exc
    try:
        if f.peek(2)[:2] == b"\x1f\x8b":
            return cast(IO[bytes], gzip.GzipFile(fileobj=f, mode="rb"))
    except OSError as exc:
        f.close()
        raise error(f"{what} {path}: cannot read: {exc}", path=str(path)) from exc
    return f


def encoding_of(head: bytes, path: str | os.PathLike[str], what: str = "file",
                error: type[MillicentError] = DataError) -> str:
    """The encoding a file's first bytes say it is in: ``"UTF-8"`` (with or without a mark),
    ``"UTF-16"`` or ``"UTF-32"`` (with a mark); refuses UTF-16 without one."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    for magic, kind in _NOT_TEXT:
        if head.startswith(magic):
            raise error(f"{what} {path} is {kind}, not text: save it as text (UTF-8)",
                        path=str(path))
    probe = head[:_PROBE - _PROBE % 2]
    if len(probe) >= 4 and probe.count(0) * 4 >= len(probe):
        odd, even = probe[1::2].count(0), probe[0::2].count(0)
        order = "little" if odd > even else "big"
        if max(odd, even) * 10 >= len(probe) * 4:  # most ASCII letters come with a NUL
            raise error(
                f"{what} {path} looks like UTF-16 ({order}-endian) text without a byte-order "
                "mark; save it as UTF-8 (e.g. iconv -f UTF-16"
                f"{'LE' if order == 'little' else 'BE'} -t UTF-8), or as UTF-16 with a mark",
                path=str(path), encoding="UTF-16")
    return "UTF-8"


def iter_lines(path: str | os.PathLike[str], what: str = "file",
               error: type[MillicentError] = DataError) -> Iterator[Line]:
    """Every line of a text file (module docstring), lazily; invalid UTF-8 is reported in
    :attr:`Line.bad` and the text decoded with replacement characters."""
    with open_binary(path, what, error) as f:
        try:
            head = cast(io.BufferedReader, f).peek(_PROBE)[:_PROBE]
        except (OSError, EOFError, zlib.error) as exc:  # a gzip stream cut short or corrupt
            raise error(f"{what} {path}: cannot read: {exc}", path=str(path)) from exc
        encoding = encoding_of(head, path, what, error)
        if encoding != "UTF-8":
            lines = _marked_lines(f, encoding)
        elif b"\r" in head and b"\n" not in head:  # classic Mac line ends: CR alone
            lines = _utf8_lines(_cr_lines(f))
        else:
            lines = _utf8_lines(f)
        n = 0
        try:
            for line in lines:
                n = line.n
                yield line
        except (OSError, EOFError, zlib.error) as exc:  # a corrupt gzip stream, a failing disk
            raise error(f"{what} {path}: cannot read after line {n}: {exc}",
                        path=str(path), line=n) from exc


def _cr_lines(f: IO[bytes]) -> Iterator[bytes]:
    """The lines of a file whose lines end with CR alone, each ending with CR."""
    rest = b""
    for chunk in iter(lambda: f.read(1 << 16), b""):
        *lines, rest = (rest + chunk).split(b"\r")
        yield from (line + b"\r" for line in lines)
    if rest:
        yield rest


def _utf8_lines(f: Iterable[bytes]) -> Iterator[Line]:
    for n, raw in enumerate(f, start=1):
        try:
            text, bad = raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace")
            bad = f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
        if n == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield Line(n, text, bad)


def _flag(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: a lone surrogate where the bytes were bad. A strict UTF-16 or
    UTF-32 decoder never yields one, so it marks the bad line unambiguously."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return _BAD, exc.end


_BAD = "\udfff"
codecs.register_error("millicent.flag", _flag)


def _marked_lines(f: IO[bytes], encoding: str) -> Iterator[Line]:
    # the codec without an explicit byte order reads the mark and drops it
    text = io.TextIOWrapper(f, encoding=encoding.lower(), errors="millicent.flag", newline="\n")
    for n, line in enumerate(text, start=1):
        if _BAD in line:
            yield Line(n, line.replace(_BAD, "\ufffd"), f"invalid {encoding}")
        else:
            yield Line(n, line)


def read_lines(path: str | os.PathLike[str], what: str = "file",
               error: type[MillicentError] = DataError) -> Iterator[tuple[int, str]]:
    """``(number, text without its line end)`` of every line; invalid UTF-8 is an error
    naming the file and the line."""
    for line in iter_lines(path, what, error):
        if line.bad is not None:
            raise error(f"{path}:{line.n}: {line.bad}", path=str(path), line=line.n)
        yield line.n, line.text.rstrip("\r\n")


def read_text(path: str | os.PathLike[str], what: str = "file",
              error: type[MillicentError] = DataError) -> str:
    """The whole text of a file (see :func:`read_lines` for what is refused)."""
    return "".join(line.text for line in _checked(path, what, error))


def _checked(path: str | os.PathLike[str], what: str,
             error: type[MillicentError]) -> Iterator[Line]:
    for line in iter_lines(path, what, error):
        if line.bad is not None:
            raise error(f"{path}:{line.n}: {line.bad}", path=str(path), line=line.n)
        yield line
