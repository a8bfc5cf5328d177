"""The result file: result lines appended in input order, checkpointed, recovered.

Crash safety rests on three rules:

1. lines are only ever appended, whole, in input order (one per input record);
2. a checkpoint (:class:`~millicent.batch.journal.Checkpoint`) is recorded only after
   the lines it counts were fsync'd;
3. on restart, :func:`recover` keeps the checkpointed prefix, then every complete line
   after it that parses and answers a later input line than the one before — the lines
   written after the last checkpoint survive a killed process (they are in the page
   cache) — and truncates the rest: a torn last line, or garbage after a power loss.

So a job killed between writing and recording neither loses nor repeats a line: it
resumes after the last line the file holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from millicent.batch.journal import Checkpoint, fsync_dir
from millicent.errors import DataError

BUFFER = 1 << 20


class ResultFile:
    """Appends result lines after the recovered checkpoint; :meth:`sync` makes them durable."""

    def __init__(self, path: Path, start: Checkpoint) -> None:
        self.path = path
        self.state = replace(start)
        self._f: BinaryIO = open(path, "ab", buffering=BUFFER)  # noqa: SIM115 - closed by close()
        at = self._f.tell()
        if at != start.bytes:  # recover() truncates to the checkpoint: anything else is a bug
            self._f.close()
            raise DataError(f"{path} is {at:,} bytes, its checkpoint says {start.bytes:,}")

    def append(self, line: int, encoded: bytes, error: bool) -> None:
        """One result line (``encoded`` ends with a newline) answering input ``line``."""
        self._f.write(encoded)
        st = self.state
        st.records += 1
        st.bytes += len(encoded)
        st.last_line = line
        if error:
            st.errors += 1
        else:
            st.ok += 1

    def sync(self) -> Checkpoint:
        """Flush and fsync everything appended; the checkpoint that now holds."""
        self._f.flush()
        os.fsync(self._f.fileno())
        return replace(self.state)

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


def recover(path: Path, checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint of what ``path`` really holds, after truncating a torn tail (see the
    module docstring); DataError when the file is shorter than its checkpoint."""
    if not path.exists():
        if checkpoint.bytes:
            raise DataError(f"{path} is gone but its journal records {checkpoint.records:,} "
                            "lines; remove the journal to start the job over")
        path.touch()
        fsync_dir(path.parent)
        return replace(checkpoint)
    size = path.stat().st_size
    if size < checkpoint.bytes:
        raise DataError(f"{path} is {size:,} bytes but its journal records {checkpoint.bytes:,} "
                        "(was it edited?); remove it and its journal to start the job over")
    state = replace(checkpoint)
    with open(path, "r+b") as f:
        f.seek(checkpoint.bytes)
        while True:
            raw = f.readline()
            if not _extends(raw, state):
                break
        if state.bytes != size:
            f.truncate(state.bytes)
        if size != checkpoint.bytes:
            # the kept tail is now durable too: the journal may record it at once
            f.flush()
            os.fsync(f.fileno())
    return state


def _extends(raw: bytes, state: Checkpoint) -> bool:
    """Whether ``raw`` is a whole result line for a later input line; if so, count it."""
    if not raw.endswith(b"\n"):
        return False
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    line = obj.get("line") if isinstance(obj, dict) else None
    if not isinstance(line, int) or isinstance(line, bool) or line <= state.last_line:
        return False
    state.records += 1
    state.bytes += len(raw)
    state.last_line = line
    if "error" in obj:
        state.errors += 1
    else:
        state.ok += 1
    return True
