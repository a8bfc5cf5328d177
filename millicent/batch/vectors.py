"""The result of an embedding job: one float32 row per input record, plus the error lines.

``millicent batch --out vectors.npy`` (or ``.parquet``) through an ``embed`` function writes

* ``OUT`` — ``np.load("vectors.npy")`` is a ``(records, dim)`` float32 array, row ``i`` the
  ``i``-th input record (for a text file: line ``i + 1``, blank lines included); a record
  without a vector (a blank line, a bad row, a text the function refused) is a row of NaN.
  ``.parquet``: columns ``line`` (int64, the record's input line) and ``embedding``
  (``fixed_size_list<float32>[dim]``, null where there is no vector); pyarrow needed.
* ``OUT.errors.jsonl`` — the error line of every record without a vector, as the JSONL job
  writes them (``{"line", "error", "message"[, "status"]}``), in input order.

The rows go into a ``.npy`` file as they come — for Parquet, a working ``OUT.rows.npy``
converted when the job completes — behind a header of fixed size (:data:`HEADER_BYTES`)
rewritten with the final shape at the end. Crash safety is the JSONL job's (:mod:`.output`)
with one change: a checkpoint always ends at a block's end (the runner writes whole blocks
of input lines), and a restart truncates both files to the checkpoint and redoes what
follows — a block's vectors depend on its batches' composition (int8 models), so a block is
redone whole, never resumed in the middle. Until the first vector tells the width, rows
without one wait in memory (nothing is written, so no checkpoint passes them).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from millicent.batch.journal import Checkpoint, fsync_dir
from millicent.errors import DataError, MillicentError, missing_extra

#: the .npy header's size: magic, version 1.0, length, the dict padded with spaces
HEADER_BYTES = 128
MAGIC = b"\x93NUMPY\x01\x00"
ERRORS_SUFFIX = ".errors.jsonl"
ROWS_SUFFIX = ".rows.npy"
OUTPUTS = {".npy": "npy", ".parquet": "parquet"}
BUFFER = 1 << 20


def output_kind(out: Path) -> str | None:
    """``npy`` / ``parquet`` for a vectors output, None for the JSONL result file."""
    return OUTPUTS.get(out.suffix.lower())


def errors_path(out: Path) -> Path:
    return out.with_name(out.name + ERRORS_SUFFIX)


def rows_path(out: Path) -> Path:
    """Where the rows go while the job runs (``OUT`` itself for ``.npy``)."""
    return out if output_kind(out) == "npy" else out.with_name(out.name + ROWS_SUFFIX)


def npy_header(rows: int, dim: int) -> bytes:
    """A version-1.0 ``.npy`` header for a C-order ``(rows, dim)`` little-endian float32
    array, padded to exactly :data:`HEADER_BYTES`."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    room = HEADER_BYTES - len(MAGIC) - 2
    if len(text) + 1 > room:
        raise DataError(f"a ({rows}, {dim}) array's header does not fit {HEADER_BYTES} bytes")
    return MAGIC + struct.pack("<H", room) + (text.ljust(room - 1) + "\n").encode("latin-1")


def vector_row(line: int, result: dict[str, Any]) -> bytes:
    """One answer's ``embedding`` as little-endian float32 bytes (MillicentError naming the
    line when the function answered no vector: not an embedding function)."""
    vec = result.get("embedding")
    if not isinstance(vec, list) or not vec or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in vec):
        raise MillicentError(f"input line {line}: the answer holds no \"embedding\" vector: "
                             "is the function an embed model? (.npy and .parquet outputs need "
                             "one; write .jsonl for a classifier)")
    return struct.pack(f"<{len(vec)}f", *vec)


class VectorFile:
    """Rows and error lines appended in input order after the recovered checkpoint
    (the interface of :class:`~millicent.batch.output.ResultFile`)."""

    def __init__(self, out: Path, start: Checkpoint, dim: int | None) -> None:
        self.out = out
        self.state = replace(start)
        self.dim = dim
        self._pending: list[tuple[int, bytes]] = []  # error lines waiting for the width
        self._rows: BinaryIO = open(rows_path(out), "r+b", buffering=BUFFER)  # noqa: SIM115
        self._errors: BinaryIO = open(errors_path(out), "ab", buffering=BUFFER)  # noqa: SIM115
        self._rows.seek(HEADER_BYTES + start.bytes)

    def append(self, line: int, encoded: bytes, error: bool) -> None:
        """Input ``line``'s row: its vector's bytes, or (``error``) its error line."""
        if error:
            if self.dim is None:
                self._pending.append((line, encoded))
                return
            self._write_error(line, encoded)
            return
        if self.dim is None:
            self.dim = len(encoded) // 4
            for pending in self._pending:
                self._write_error(*pending)
            self._pending.clear()
        if len(encoded) != 4 * self.dim:
            raise DataError(f"input line {line}: a {len(encoded) // 4}-d vector where the job's "
                            f"earlier ones were {self.dim}-d: did the function change?")
        self._row(line, encoded)
        self.state.ok += 1

    def _write_error(self, line: int, encoded: bytes) -> None:
        self._errors.write(encoded)
        self.state.error_bytes = (self.state.error_bytes or 0) + len(encoded)
        self._row(line, struct.pack("<f", math.nan) * int(self.dim or 0))
        self.state.errors += 1

    def _row(self, line: int, data: bytes) -> None:
        self._rows.write(data)
        self.state.records += 1
        self.state.bytes += len(data)
        self.state.last_line = line

    def sync(self) -> Checkpoint:
        """Flush and fsync both files; the checkpoint that now holds (rows waiting for the
        width are not in it)."""
        for f in (self._rows, self._errors):
            f.flush()
            os.fsync(f.fileno())
        return replace(self.state)

    def finish(self) -> None:
        """Every record read: the rows waiting for a width become 0-wide, the header gets the
        final shape, and a Parquet output is written from the rows."""
        if self.dim is None:
            self.dim = 0
            for pending in self._pending:
                self._write_error(*pending)
            self._pending.clear()
        self._rows.flush()
        self._rows.seek(0)
        self._rows.write(npy_header(self.state.records, self.dim))
        self.sync()
        self.close()

    def close(self) -> None:
        for f in (self._rows, self._errors):
            if not f.closed:
                f.close()


def recover(out: Path, checkpoint: Checkpoint) -> Checkpoint:
    """Both files cut back to ``checkpoint`` (created when new): what follows it is redone.
    DataError when a file is shorter than its checkpoint."""
    rows, errors = rows_path(out), errors_path(out)
    for path, size in ((rows, HEADER_BYTES + checkpoint.bytes), (errors, checkpoint.error_bytes or 0)):
        if not path.exists():
            if checkpoint.records:
                raise DataError(f"{path} is gone but its journal records {checkpoint.records:,} "
                                "lines; remove the journal to start the job over")
            path.write_bytes(npy_header(0, 0) if path == rows else b"")
            fsync_dir(path.parent)
            continue
        have = path.stat().st_size
        if have < size:
            raise DataError(f"{path} is {have:,} bytes but its journal records {size:,} (was it "
                            "edited?); remove the outputs and the journal to start over")
        if have > size:
            with open(path, "r+b") as f:
                f.truncate(size)
                os.fsync(f.fileno())
    return replace(checkpoint)


def width(checkpoint: Checkpoint) -> int | None:
    """The vectors' width the checkpointed rows imply (None before the first vector)."""
    if checkpoint.ok == 0 or checkpoint.records == 0:
        return None
    return checkpoint.bytes // checkpoint.records // 4


def write_parquet(out: Path, lines: list[int], chunk_rows: int = 65_536) -> None:
    """``OUT.parquet`` from the finished rows (``lines``: each row's input line), a row group
    per ``chunk_rows`` (memory stays bounded), written to a temporary file and renamed."""
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise missing_extra("pyarrow", "glove") from exc
    rows = np.load(rows_path(out), mmap_mode="r", allow_pickle=False)
    if len(rows) != len(lines):
        raise DataError(f"{rows_path(out)} holds {len(rows):,} rows for {len(lines):,} records")
    dim = int(rows.shape[1])
    schema = pa.schema([("line", pa.int64()), ("embedding", pa.list_(pa.float32(), dim))])
    tmp = out.with_name(out.name + ".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for lo in range(0, max(len(rows), 1), chunk_rows):
            part = np.ascontiguousarray(rows[lo:lo + chunk_rows], dtype="<f4")
            missing = np.isnan(part).any(axis=1) if dim else np.ones(len(part), dtype=bool)
            emb = pa.FixedSizeListArray.from_arrays(pa.array(part.reshape(-1), type=pa.float32()),
                                                    dim, mask=pa.array(missing))
            writer.write_table(pa.table({"line": pa.array(lines[lo:lo + chunk_rows], pa.int64()),
                                         "embedding": emb}, schema=schema))
    os.replace(tmp, out)
    fsync_dir(out.parent)
