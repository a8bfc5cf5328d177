"""An embedding job's output: the .npy rows behind a fixed header, the error lines, recovery to a
block's end, blocks fixed by line numbers, batches by length, Parquet."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from millicent.batch import vectors
from millicent.batch.journal import Checkpoint
from millicent.batch.lines import error_line
from millicent.batch.runner import blocks, by_length
from millicent.data.files import Problem
from millicent.errors import DataError, MillicentError


def row(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def test_the_header_is_numpys_own_at_a_fixed_size(tmp_path: Path) -> None:
    for shape in ((0, 0), (3, 2), (10**10, 4096)):
        assert len(vectors.npy_header(*shape)) == vectors.HEADER_BYTES
    path = tmp_path / "a.npy"
    data = np.arange(6, dtype="<f4").reshape(3, 2)
    path.write_bytes(vectors.npy_header(3, 2) + data.tobytes())
    assert np.array_equal(np.load(path), data)


def test_rows_errors_and_the_width_learnt_late(tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    start = vectors.recover(out, Checkpoint())
    f = vectors.VectorFile(out, start, None)
    f.append(1, error_line(1, "blank_line", "blank line"), True)  # waits for the width
    assert f.sync().records == 0  # nothing written yet: no checkpoint passes it
    f.append(2, row(1, 2, 3), False)
    f.append(3, error_line(3, "invalid_input", "too long", 400), True)
    f.append(4, row(4, 5, 6), False)
    state = f.sync()
    assert (state.records, state.ok, state.errors, state.last_line) == (4, 2, 2, 4)
    assert vectors.width(state) == 3
    f.finish()
    got = np.load(out)
    assert got.shape == (4, 3) and got.dtype == np.float32
    assert np.isnan(got[[0, 2]]).all() and got[1].tolist() == [1, 2, 3]
    errors = [json.loads(x) for x in vectors.errors_path(out).read_text().splitlines()]
    assert [e["line"] for e in errors] == [1, 3] and errors[1]["status"] == 400


def test_a_job_without_any_vector_ends_0_wide(tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    f = vectors.VectorFile(out, vectors.recover(out, Checkpoint()), None)
    f.append(1, error_line(1, "blank_line", "blank line"), True)
    f.finish()
    assert np.load(out).shape == (1, 0)


def test_recovery_cuts_both_files_back_to_the_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    f = vectors.VectorFile(out, vectors.recover(out, Checkpoint()), None)
    f.append(1, row(1, 2), False)
    f.append(2, error_line(2, "bad_row", "x"), True)
    checkpoint = f.sync()
    f.append(3, row(3, 4), False)  # after the checkpoint: torn away
    f.append(4, error_line(4, "bad_row", "y"), True)
    f.sync()
    f.close()
    back = vectors.recover(out, checkpoint)
    assert back == checkpoint
    assert out.stat().st_size == vectors.HEADER_BYTES + 2 * 8
    assert vectors.errors_path(out).stat().st_size == checkpoint.error_bytes
    g = vectors.VectorFile(out, back, vectors.width(back))
    g.append(3, row(3, 4), False)
    g.finish()
    assert np.load(out)[2].tolist() == [3, 4]
    with pytest.raises(DataError, match="was it edited"):
        vectors.recover(out, Checkpoint(records=9, bytes=10**6))


def test_a_vector_of_another_width_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    f = vectors.VectorFile(out, vectors.recover(out, Checkpoint()), None)
    f.append(1, row(1, 2), False)
    with pytest.raises(DataError, match="3-d vector where the job's earlier ones were 2-d"):
        f.append(2, row(1, 2, 3), False)
    f.close()


def test_an_answer_without_a_vector_is_no_embedding_function() -> None:
    assert vectors.vector_row(1, {"embedding": [0.5, -1.0]}) == row(0.5, -1.0)
    for bad in ({"label": "pos"}, {"embedding": []}, {"embedding": [1, "x"]},
                {"embedding": [math.inf]}):
        with pytest.raises(MillicentError, match=r"input line 7.*embed model"):
            vectors.vector_row(7, bad)


def test_blocks_are_fixed_by_line_numbers_wherever_a_run_starts() -> None:
    records: list[tuple[int, str | Problem]] = [(n, f"t{n}") for n in range(1, 11)]
    records[4] = (5, Problem("f", 5, "blank line"))
    whole = [[e.line for e in b] for b in blocks(records, 4)]
    assert whole == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    resumed = [[e.line for e in b] for b in blocks(records[4:], 4)]
    assert resumed == whole[1:]
    gappy = [(1, "a"), (2, "b"), (9, "c"), (13, "d")]  # CSV records span lines
    assert [[e.line for e in b] for b in blocks(gappy, 4)] == [[1, 2], [9], [13]]
    assert next(iter(blocks(records, 4)))[0].result is None
    assert [e.error for e in list(blocks(records, 4))[1]] == [True, False, False, False]


def test_batches_by_length_are_the_same_every_time() -> None:
    (block,) = list(blocks([(1, "a long text here"), (2, "short"), (3, "mid text"),
                            (4, "tiny"), (5, Problem("f", 5, "blank line"))], 8))
    batches = by_length(block, 2)
    assert [[e.line for e in b] for b in batches] == [[4, 2], [3, 1]]


def test_parquet_has_lines_and_null_vectors(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "v.parquet"
    f = vectors.VectorFile(out, vectors.recover(out, Checkpoint()), None)
    f.append(2, row(1, 2), False)
    f.append(3, error_line(3, "blank_line", "blank line"), True)
    f.append(5, row(3, 4), False)
    f.finish()
    vectors.write_parquet(out, [2, 3, 5], chunk_rows=2)
    table = pq.read_table(out)
    assert table.column("line").to_pylist() == [2, 3, 5]
    assert table.column("embedding").to_pylist() == [[1.0, 2.0], None, [3.0, 4.0]]
    assert table.schema.field("embedding").type.list_size == 2
    with pytest.raises(DataError, match="rows for 2 records"):
        vectors.write_parquet(out, [2, 3])
