"""The user's data files: real small files written here, read by the shared readers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import GeneratorType

import pytest

from millicent.data.files import Problem, infer_format, iter_texts
from millicent.data.labelled import (
    Columns,
    Example,
    check_known,
    class_counts,
    label_indices,
    label_order,
    read_labelled,
    training_labels,
)
from millicent.errors import DataError, InvalidInput

CSV = (
    'text,label\n'
    '"great, really great",positive\n'
    '"a ""quoted"" word",negative\n'
    '"two\nlines, with a comma",positive\n'
    'plain,negative\n'
)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def test_csv_quoting_commas_quotes_and_newlines(tmp_path: Path) -> None:
    data = read_labelled(write(tmp_path / "reviews.csv", CSV))
    assert data.rows == [
        Example("great, really great", "positive"),
        Example('a "quoted" word', "negative"),
        Example("two\nlines, with a comma", "positive"),
        Example("plain", "negative"),
    ]
    # each record's line is the physical line where it starts: the embedded newline
    # makes the third record span lines 4-5, so "plain" starts on line 6
    assert data.lines == [2, 3, 4, 6]
    assert data.bad_rows == 0


def test_crlf_bom_and_blank_lines(tmp_path: Path) -> None:
    raw = "\ufefftext,label\r\n\r\n\"a\r\nb\",x\r\nc,y\r\n".encode()
    data = read_labelled(write(tmp_path / "win.csv", raw))
    assert data.rows == [Example("a\r\nb", "x"), Example("c", "y")]
    assert data.lines == [3, 5]


def test_a_broken_row_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.csv", CSV + "one,two,three\n\"never closed,positive\nx,y\n")
    with pytest.raises(DataError) as info:
        read_labelled(path)
    msg = info.value.message
    assert f"{path}:7: 3 fields, the header has 2" in msg
    assert f"{path}:8: a quoted field is never closed" in msg
    assert "2 bad row(s)" in msg and "--skip-bad-rows" in msg
    assert info.value.details["bad_rows"] == 2
    skipped = read_labelled(path, skip_bad_rows=True)
    assert len(skipped.rows) == 4 and skipped.bad_rows == 2
    assert skipped.note().startswith(f"{path}: skipped 2 bad row(s), the first: {path}:7:")


def test_every_kind_of_bad_row(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "text,label\n,positive\nfine,\n  ,x\nok,good\n")
    with pytest.raises(DataError) as info:
        read_labelled(path)
    assert info.value.details["problems"] == [
        f"{path}:2: empty 'text'", f"{path}:3: empty 'label'", f"{path}:4: empty 'text'"]


def test_invalid_utf8_is_reported_on_its_record(tmp_path: Path) -> None:
    raw = b'text,label\nfine,a\n"multi\nbad \xff byte",b\nok,c\n'
    with pytest.raises(DataError, match=r"bad\.csv:3: invalid UTF-8 \(byte 0xff at column 5\)"):
        read_labelled(write(tmp_path / "bad.csv", raw))
    data = read_labelled(tmp_path / "bad.csv", skip_bad_rows=True)
    assert data.rows == [Example("fine", "a"), Example("ok", "c")] and data.lines == [2, 5]
    stsa = write(tmp_path / "bad.stsa", b"1 good\n0 \xc3( broken\n")
    with pytest.raises(DataError, match=r"bad\.stsa:2: invalid UTF-8"):
        read_labelled(stsa)


def test_missing_column_is_a_file_error_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "cols.csv", "review,stars\nnice,5\nbad,1\n")
    with pytest.raises(DataError, match=r"cols\.csv:1: no column 'text' .*review, stars.*--text-column"):
        read_labelled(path)
    data = read_labelled(path, columns=Columns(text="review", label="stars"))
    assert data.rows == [Example("nice", "5"), Example("bad", "1")]


def test_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.tsv", 'sentence\tscore\n"tab\tinside"\t1\nplain , words\t0\n')
    data = read_labelled(path, columns=Columns(text="sentence", label="score"))
    assert data.rows == [Example("tab\tinside", "1"), Example("plain , words", "0")]


def test_jsonl_labels_strings_and_integers(tmp_path: Path) -> None:
    rows = [{"text": "good", "label": 1}, {"text": "bad", "label": "0"},
            {"text": "meh", "label": True}, {"text": "odd", "label": 1.5},
            {"label": 1}, ["not", "an", "object"], {"text": 3, "label": 1},
            {"text": "null", "label": None}]
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, "")  # a blank line is not a record
    lines.append("{not json")
    path = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        read_labelled(path)
    problems = info.value.details["problems"]
    assert problems[0] == f"{path}:4: label true is not a string or an integer"
    assert problems[1] == f"{path}:5: label 1.5 is not a string or an integer"
    assert problems[2].startswith(f"{path}:6: no field 'text' (fields: label)")
    assert problems[3] == f"{path}:7: expected a JSON object, got list"
    assert problems[4] == f"{path}:8: 'text' must be a string, got 3"
    assert problems[5] == f"{path}:9: label null is not a string or an integer"
    assert problems[6].startswith(f"{path}:10: not valid JSON")
    data = read_labelled(path, skip_bad_rows=True)
    assert data.rows == [Example("good", "1"), Example("bad", "0")] and data.bad_rows == 7


def test_labels_compare_as_text_across_formats(tmp_path: Path) -> None:
    stsa = read_labelled(write(tmp_path / "a.stsa", "1 good movie\n0\tbad movie\n"))
    tsv = read_labelled(write(tmp_path / "b.tsv", "text\tlabel\ngood movie\t1\nbad movie\t0\n"))
    jsonl = read_labelled(write(tmp_path / "c.jsonl",
                                '{"text": "good movie", "label": 1}\n{"text": "bad movie", "label": 0}\n'))
    assert stsa.rows == tsv.rows == jsonl.rows == [Example("good movie", "1"), Example("bad movie", "0")]
    check_known(jsonl, training_labels(stsa))  # no error: the same labels


def test_label_order_is_numeric_for_integers_else_text() -> None:
    assert label_order(["10", "2", "1", "-1", "2"]) == ("-1", "1", "2", "10")
    assert label_order(["pos", "neg", "Neutral", "10"]) == ("10", "Neutral", "neg", "pos")
    assert label_order(["b", "a"]) == label_order(["a", "b"])


def test_class_checks(tmp_path: Path) -> None:
    one = read_labelled(write(tmp_path / "one.csv", "text,label\na,x\nb,x\n"))
    with pytest.raises(DataError, match="at least two classes"):
        training_labels(one)
    train = read_labelled(write(tmp_path / "t.csv", CSV))
    labels = training_labels(train)
    assert labels == ("negative", "positive")
    assert class_counts(train.rows, labels) == {"negative": 2, "positive": 2}
    assert label_indices(train.rows, labels) == [1, 0, 1, 0]
    dev = read_labelled(write(tmp_path / "dev.csv", "text,label\na,positive\nb,neutral\nc,meh\nd,neutral\n"))
    with pytest.raises(DataError, match=r"dev\.csv: label\(s\) not among the training labels "
                                        r"\(negative, positive\): 'neutral' \(first on line 3\), "
                                        r"'meh' \(first on line 4\)"):
        check_known(dev, labels)
    with pytest.raises(DataError, match="no usable rows"):
        read_labelled(write(tmp_path / "empty.csv", "text,label\n"))
    with pytest.raises(DataError, match="no usable rows"):
        read_labelled(write(tmp_path / "allbad.csv", "text,label\n,x\n"), skip_bad_rows=True)
    with pytest.raises(DataError, match="no such file"):
        read_labelled(tmp_path / "absent.csv")


def test_format_inference(tmp_path: Path) -> None:
    assert infer_format("a/reviews.CSV") == "csv"
    assert infer_format("x.tsv.gz") == "tsv"
    assert infer_format("x.ndjson") == "jsonl"
    assert infer_format("data/stsa.binary.test") == "stsa"
    assert infer_format("anything.dat", "tsv") == "tsv"
    with pytest.raises(InvalidInput, match="--format"):
        infer_format("reviews.dat")
    with pytest.raises(InvalidInput, match="unknown format 'xml'"):
        infer_format("x.csv", "xml")
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode()))
    assert len(read_labelled(gz).rows) == 4
    with pytest.raises(InvalidInput, match="texts only"):
        read_labelled(write(tmp_path / "t.txt", "a\n"))


def test_iter_texts_streams_any_format(tmp_path: Path) -> None:
    txt = write(tmp_path / "in.txt", "first text\n\n  second  \n\xff\n".encode("latin-1"))
    items = iter_texts(txt)
    assert isinstance(items, GeneratorType)
    got = list(items)
    assert got[:2] == [(1, "first text"), (3, "second")]
    assert got[2][0] == 4 and isinstance(got[2][1], Problem)
    assert str(got[2][1]) == f"{txt}:4: invalid UTF-8 (byte 0xff at column 1)"
    csv_path = write(tmp_path / "in.csv", 'id,review\n1,"a, b"\n2,\n3,"c\nd"\n')
    got = list(iter_texts(csv_path, text_column="review"))
    assert got[0] == (2, "a, b") and got[2] == (4, "c\nd")
    assert got[1][0] == 3 and str(got[1][1]).endswith(":3: empty 'review'")
    stsa = write(tmp_path / "s.stsa", "1 a b\n0 c\n")
    assert list(iter_texts(stsa)) == [(1, "a b"), (2, "c")]
    with pytest.raises(DataError, match="no column 'text'"):
        list(iter_texts(csv_path))


def test_iter_texts_is_lazy_on_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(200_000):
            f.write(json.dumps({"text": f"row {i}", "label": i % 2}) + "\n")
    items = iter_texts(path)
    assert next(items) == (1, "row 0")
    # the rest is still there to read, one record at a time
    assert sum(1 for _ in items) == 199_999


def _blank_lines(items: list[tuple[int, object]]) -> list[int]:
    return [n for n, v in items if isinstance(v, Problem) and v.message == "blank line"]


def test_iter_texts_reports_blank_lines_when_asked(tmp_path: Path) -> None:
    txt = write(tmp_path / "in.txt", "\nfirst\n \t \nsecond\n\xff\n\n\n".encode("latin-1"))
    assert [n for n, _ in iter_texts(txt)] == [2, 4, 5]  # the default still skips them
    got = list(iter_texts(txt, blank_lines=True))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5, 6, 7]  # every line, in file order
    assert _blank_lines(got) == [1, 3, 6, 7]
    assert str(got[0][1]) == f"{txt}:1: blank line"
    assert got[1] == (2, "first") and got[3] == (4, "second")
    assert "invalid UTF-8" in str(got[4][1])
    jsonl = write(tmp_path / "in.jsonl", '{"text": "a"}\n\n{"text": "b"}\n  \n')
    got = list(iter_texts(jsonl, blank_lines=True))
    assert got[0] == (1, "a") and got[2] == (3, "b") and _blank_lines(got) == [2, 4]
    stsa = write(tmp_path / "s.stsa", "1 a b\n\n0 c\n")
    assert _blank_lines(list(iter_texts(stsa, blank_lines=True))) == [2]


def test_iter_texts_blank_lines_in_csv_outside_records_only(tmp_path: Path) -> None:
    # blank lines before the header, between records, inside a quoted field (part of the
    # record, not reported) and at the end
    path = write(tmp_path / "in.csv",
                 '\nid,text\n\n1,one\n2,"two\n\nlines"\n\n3,"never closed\n\n')
    got = list(iter_texts(path, blank_lines=True))
    assert _blank_lines(got) == [1, 3, 8]
    assert (4, "one") in got and (5, "two\n\nlines") in got
    # the unclosed quote runs to the end of the file: its blank line is inside it
    assert got[-1][0] == 9 and "never closed" in str(got[-1][1])
    assert [n for n, _ in got] == sorted(n for n, _ in got)
    assert _blank_lines(list(iter_texts(path))) == []


def test_iter_texts_blank_lines_stays_lazy(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(100_000):
            f.write(f"row {i}\n" if i % 1000 else "\n")
    items = iter_texts(path, blank_lines=True)
    assert isinstance(items, GeneratorType)
    assert next(items)[0] == 1 and next(items) == (2, "row 1")
    rest = list(items)
    assert len(rest) == 99_998 and len(_blank_lines(rest)) == 99
