"""Issue 20, item 5: a CSV saved as Excel's "Unicode text" (UTF-16 with a byte-order mark)
is read as the text it is; UTF-16 without a mark is refused with what it looks like and how
to convert it — not ``no column 'text' in the header (columns: ��t e x t …)``.
"""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

import pytest

from millicent.data.files import iter_texts
from millicent.data.labelled import Example, read_labelled
from millicent.errors import DataError

TEXT = "text,label\r\ngreat film,positive\r\n\"a dull, long mess\",negative\r\ncafé noir,positive\r\n"
ROWS = [Example("great film", "positive"), Example("a dull, long mess", "negative"),
        Example("café noir", "positive")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32", "utf-8-sig"])
def test_marked_unicode_files_are_read_as_text(tmp_path: Path, encoding: str) -> None:
    if encoding == "utf-16-be-bom":
        raw = codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be")
    else:
        raw = TEXT.encode(encoding)
    path = tmp_path / "excel.csv"
    path.write_bytes(raw)
    data = read_labelled(path)
    assert data.rows == ROWS and data.lines == [2, 3, 4]


@pytest.mark.parametrize(("encoding", "order"), [("utf-16-le", "little"), ("utf-16-be", "big")])
def test_utf16_without_a_mark_is_refused_with_what_to_do(tmp_path: Path, encoding: str, order: str) -> None:
    path = tmp_path / "nomark.csv"
    path.write_bytes(TEXT.encode(encoding))
    with pytest.raises(DataError, match=rf"looks like UTF-16 \({order}-endian\) text without a "
                                        r"byte-order mark; save it as UTF-8"):
        read_labelled(path)


def test_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(TEXT.encode("utf-16"))
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", "eval", "kim-sst1-static",
                           "--file", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 3
    bad = tmp_path / "nomark.csv"
    bad.write_bytes(TEXT.encode("utf-16-le"))
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", "eval", "kim-sst1-static",
                           "--file", str(bad)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"data file {bad} looks like UTF-16 (little-endian)" in done.stderr
    assert "iconv -f UTF-16LE -t UTF-8" in done.stderr


def test_a_bad_utf16_sequence_is_reported_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    raw = "first\nsecond\n".encode("utf-16") + b"\x00\xdc" + "x\nfourth\n".encode("utf-16-le")
    path.write_bytes(raw)
    got = list(iter_texts(path))
    assert got[:2] == [(1, "first"), (2, "second")] and got[-1] == (4, "fourth")
    assert got[2][0] == 3 and "invalid UTF-16" in str(got[2][1])


def test_classic_mac_line_ends_are_lines(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(TEXT.replace("\r\n", "\r").encode("utf-8"))
    data = read_labelled(path)
    assert data.rows == ROWS and data.lines == [2, 3, 4]


def test_a_file_that_is_not_text_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(100))  # an .xlsx workbook renamed
    with pytest.raises(DataError, match=r"reviews\.csv is a ZIP archive \(an Excel \.xlsx"):
        read_labelled(path)
