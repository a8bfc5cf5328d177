"""The result file and the journal on a real file system: a crash at any point between
writing lines and recording them is recovered without a lost or repeated line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from millicent.batch.identity import identify
from millicent.batch.journal import Checkpoint, Journal
from millicent.batch.lines import answer_line, error_line
from millicent.batch.output import ResultFile, recover
from millicent.errors import DataError


def lines_for(numbers: list[int]) -> list[bytes]:
    return [error_line(n, "blank_line", "blank line") if n % 5 == 0 else
            answer_line(n, {"label": "x", "probabilities": [0.5, 0.5]}) for n in numbers]


def written(path: Path, numbers: list[int]) -> Checkpoint:
    """Append lines for ``numbers`` through a ResultFile and sync; the checkpoint."""
    f = ResultFile(path, recover(path, Checkpoint()))
    for n, raw in zip(numbers, lines_for(numbers), strict=True):
        f.append(n, raw, error=n % 5 == 0)
    cp = f.sync()
    f.close()
    return cp


def test_lines_after_the_checkpoint_are_kept_a_torn_one_is_cut(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    cp = written(out, [1, 2, 3])
    assert cp == Checkpoint(records=3, bytes=out.stat().st_size, last_line=3, ok=3, errors=0)
    # killed after writing lines 4-5 and half of 6, before recording them
    tail = b"".join(lines_for([4, 5, 6]))
    with out.open("ab") as f:
        f.write(tail[:-7])
    got = recover(out, cp)
    assert got.records == 5 and got.last_line == 5 and got.errors == 1 and got.ok == 4
    assert out.stat().st_size == got.bytes
    assert [json.loads(x)["line"] for x in out.read_text().splitlines()] == [1, 2, 3, 4, 5]
    # and the job goes on from there
    f = ResultFile(out, got)
    f.append(6, lines_for([6])[0], error=False)
    assert f.sync().records == 6
    f.close()


@pytest.mark.parametrize("garbage", [
    b"\0" * 300,                                   # a power loss: blocks of zeros
    b'{"line": 2, "label": "x"}\n',                # not a later line: a repeat
    b'{"line": "4"}\n',                            # not a result line
    b"[4]\n",
    b'{"line": 4, "label": "x"',                   # torn before its newline
])
def test_anything_but_later_whole_lines_is_truncated(tmp_path: Path, garbage: bytes) -> None:
    out = tmp_path / "out.jsonl"
    cp = written(out, [1, 2, 3])
    with out.open("ab") as f:
        f.write(garbage)
    assert recover(out, cp) == cp
    assert out.stat().st_size == cp.bytes


def test_a_file_shorter_than_its_checkpoint_or_gone_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    cp = written(out, [1, 2, 3])
    data = out.read_bytes()
    out.write_bytes(data[:-1])
    with pytest.raises(DataError, match="was it edited"):
        recover(out, cp)
    out.unlink()
    with pytest.raises(DataError, match="is gone"):
        recover(out, cp)
    assert recover(out, Checkpoint()) == Checkpoint() and out.exists()


def test_journal_replaced_atomically_and_refuses_another_job(tmp_path: Path) -> None:
    inp = tmp_path / "in.txt"
    inp.write_text("a\nb\nc")  # no final newline: still three lines
    ident = identify(inp)
    assert ident.lines == 3 and ident.size == 5 and len(ident.sha256) == 64
    args = {"endpoint": "http://h:1", "function": None, "format": "txt", "text_column": "text"}
    j = Journal(Journal.path_for(tmp_path / "out.jsonl"), ident, args)
    j.checkpoint = Checkpoint(2, 10, 2, 2, 0)
    j.sessions.append({"started": "now"})
    j.save()
    assert j.path.name == "out.jsonl.journal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl.journal"]
    back = Journal.load(j.path)
    assert back.to_dict() == j.to_dict()
    back.refuse_other_job(identify(inp), dict(args))
    with pytest.raises(DataError, match="text_column = 'text', not 'review'"):
        back.refuse_other_job(ident, {**args, "text_column": "review"})
    inp.write_text("a\nb\nC")
    with pytest.raises(DataError, match="content changed"):
        back.refuse_other_job(identify(inp), args)
    j.path.write_text("{}")
    with pytest.raises(DataError, match="unreadable batch journal"):
        Journal.load(j.path)


def test_a_gzipped_input_is_identified_without_a_line_count(tmp_path: Path) -> None:
    gz = tmp_path / "in.txt.gz"
    gz.write_bytes(gzip.compress(b"a\nb\n"))
    assert identify(gz).lines is None
    with pytest.raises(DataError, match="no such file"):
        identify(tmp_path / "missing.txt")
