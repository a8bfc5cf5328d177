"""A batch job's journal: its arguments, its input's identity and its last checkpoint.

The journal (``OUT.journal``, JSON) is replaced atomically — written to a temporary file,
fsync'd, renamed over the old one, the directory fsync'd — so after a crash at any moment
it holds either the previous checkpoint or the new one, never a mixture. A checkpoint is
recorded only after the result lines it counts were fsync'd (:mod:`.output`), so it never
claims more than the result file holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from millicent.batch.identity import InputIdentity
from millicent.errors import DataError

FORMAT = 1
SUFFIX = ".journal"
#: the arguments that decide what the result lines say: a resumed job must repeat them
#: (the last three are recorded by embedding jobs only: their vectors depend on how the
#: input was cut into batches)
RESULT_ARGS = ("endpoint", "function", "format", "text_column", "output", "batch_size",
               "block_lines")


@dataclass
class Checkpoint:
    """What the result file held, fsync'd: ``records`` lines in ``bytes`` bytes, the last
    of them answering input line ``last_line``; ``ok`` answers and ``errors`` error lines.
    An embedding job's (:mod:`.vectors`): ``records`` rows in ``bytes`` bytes after the
    header, and ``error_bytes`` of error lines beside them (None: a JSONL job, whose error
    lines are among its result lines)."""

    records: int = 0
    bytes: int = 0
    last_line: int = 0
    ok: int = 0
    errors: int = 0
    error_bytes: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoint:
        counts = {k: int(d[k]) for k in cls.__dataclass_fields__ if k in d and d[k] is not None}
        return cls(**counts)


@dataclass
class Journal:
    """The state of one job, kept beside its result file."""

    path: Path
    input: InputIdentity
    args: dict[str, Any]
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    #: one entry per run of the job (see :class:`millicent.batch.tally.Tally`)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False

    @staticmethod
    def path_for(out: Path) -> Path:
        return out.with_name(out.name + SUFFIX)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "tool": "millicent batch", "input": self.input.to_dict(),
                "args": self.args, "checkpoint": self.checkpoint.to_dict(),
                "sessions": self.sessions, "complete": self.complete}

    def save(self) -> None:
        """Replace the journal file atomically (see the module docstring)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps(self.to_dict(), indent=1).encode("utf-8")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(d, dict) or d.get("tool") != "millicent batch":
                raise ValueError("not a millicent batch journal")
            if d.get("format") != FORMAT:
                raise ValueError(f"journal format {d.get('format')!r}, this version reads {FORMAT}")
            return cls(path, InputIdentity.from_dict(d["input"]), dict(d["args"]),
                       Checkpoint.from_dict(d["checkpoint"]), list(d.get("sessions", [])),
                       bool(d.get("complete", False)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: unreadable batch journal ({exc}); remove it and the "
                            "result file to start the job over", path=str(path)) from exc

    def refuse_other_job(self, identity: InputIdentity, args: dict[str, Any]) -> None:
        """DataError unless ``identity`` and ``args`` are this job's."""
        why = self.input.differs(identity)
        if why is not None:
            raise DataError(f"{self.path}: this job read {self.input.path}, and {why}; "
                            "refusing to mix results of two inputs (use another --out, or "
                            "remove the result file and its journal to start over)")
        for key in RESULT_ARGS:
            if self.args.get(key) != args.get(key):
                raise DataError(f"{self.path}: this job ran with {key} = "
                                f"{self.args.get(key)!r}, not {args.get(key)!r}; resume it with "
                                "the same arguments, or use another --out")


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
