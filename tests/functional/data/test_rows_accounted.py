"""Issue 20, item 2: every data row read is used or counted.

A 10-row CSV with an unclosed quote on line 9 gave ``"n": 8, "bad_rows_skipped": 1`` under
``--skip-bad-rows``: the quote swallowed line 10, counted nowhere. Now the bad record is
reported on the line its quote opens and parsing resumes on the next line, so ``n`` +
``bad_rows_skipped`` equals the rows in the file, whatever the damage.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from millicent.data.labelled import read_labelled

LABELS = ["negative", "positive"]


def _rows(n: int) -> list[str]:
    return [f"sentence number {i} is fine,{LABELS[i % 2]}" for i in range(1, n + 1)]


def test_the_issue_case_through_eval(tmp_path: Path) -> None:
    rows = _rows(10)
    rows[8] = '"sentence 9 opens a quote,negative'
    path = tmp_path / "ten.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", "eval", "kim-sst1-static",
                           "--file", str(path), "--skip-bad-rows"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["n"], result["bad_rows_skipped"]) == (9, 1)
    assert result["n"] + result["bad_rows_skipped"] == 10


@pytest.mark.parametrize("damage", [
    {9: '"opens a quote,negative'},                       # runs to the end of the file
    {2: '"opens early,positive', 7: 'has "a stray" quote,negative'},
    {3: 'a "bad" "quote",positive'},                     # strict mode: a quote inside a field
    {4: '"closed"junk,negative'},                         # text after a closing quote
    {5: '"x' + ("y" * 140_000) + ',negative'},            # past the csv field size limit
    {1: '"', 2: '"', 3: '"'},                             # quotes that pair up across lines
    {2: '"a,b', 3: 'c",negative'},                        # a good record over 2 lines
    {2: '"a,b', 3: 'c",negative,x'},                      # pairing up, 3 fields: read again
])
def test_no_row_is_lost_whatever_the_quoting(tmp_path: Path, damage: dict[int, str]) -> None:
    from millicent.data.files import BLANK, Fields, Problem, iter_records

    rows = _rows(10)
    for i, text in damage.items():
        rows[i - 1] = text
    path = tmp_path / "damaged.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data = read_labelled(path, skip_bad_rows=True)
    # a good record over several lines (a quoted newline) is one row of several lines
    inside = sum(e.text.count("\n") for e in data.rows)
    assert len(data.rows) + data.bad_rows + inside == len(rows)
    # every physical line is the start of a record or a problem, or inside a good record
    items = list(iter_records(path, "csv", Fields(("text", "label")), blank_lines=True))
    covered: set[int] = {1}
    for item in items:
        covered.update(range(item.line, (item.last or item.line) + 1))
    assert covered == set(range(1, len(rows) + 2)), sorted(set(range(1, len(rows) + 2)) - covered)
    assert not any(isinstance(i, Problem) and i.message == BLANK for i in items)



def test_a_good_multi_line_record_stays_one_row(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('text,label\n"two\nlines, fine",positive\nplain,negative\n', encoding="utf-8")
    data = read_labelled(path)
    assert [e.text for e in data.rows] == ["two\nlines, fine", "plain"] and data.lines == [2, 4]
