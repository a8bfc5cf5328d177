"""The ``--out`` directory of ``train hf``: a new run, the same run resumed, or refused.

``OUT/run.json`` records the run's identity (:meth:`HFOptions.identity` plus the sha256
of the base weights and of each data file) and the command. Rerunning with the same
identity resumes from the last checkpoint (or, once the run is complete, only reports it);
a different identity on a non-empty ``--out`` is refused, naming what differs, so one
directory never mixes two runs. A non-empty directory without ``run.json`` is refused too
(it is not ours to write into).

Layout of ``OUT``: ``run.json``; ``checkpoints/`` while training; at the end ``hf/`` (the
fine-tuned model, a Hugging Face directory) and ``training.json`` (the training record).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from millicent.errors import InvalidInput

RUN_FILE = "run.json"
Claim = Literal["new", "resume", "complete"]


def claim(out: Path, identity: dict[str, Any], command: str) -> Claim:
    """Take ``out`` for the run ``identity``; InvalidInput when it holds something else."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file, not a directory")
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        _write(out, {"identity": identity, "command": command, "status": "running"})
        return "new"
    run_file = out / RUN_FILE
    if not run_file.is_file():
        raise InvalidInput(f"--out {out} is not empty and holds no `millicent train hf` run: "
                           "choose a new or empty directory")
    recorded = json.loads(run_file.read_text(encoding="utf-8"))
    diffs = differences(recorded.get("identity", {}), identity)
    if diffs:
        raise InvalidInput(
            f"--out {out} holds a run of another command ({'; '.join(diffs)}); rerun that "
            f"command to resume it, or choose another --out. Its command: {recorded['command']}")
    return "complete" if recorded.get("status") == "complete" else "resume"


def mark_complete(out: Path) -> None:
    """Record that the run finished (a rerun then only reports it)."""
    recorded = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    _write(out, {**recorded, "status": "complete"})


def differences(there: dict[str, Any], here: dict[str, Any], prefix: str = "") -> list[str]:
    """``["lr: 5e-05 there, 3e-05 here", ...]`` between two identities."""
    out: list[str] = []
    for key in sorted(set(there) | set(here)):
        a, b = there.get(key), here.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {_short(a)} there, {_short(b)} here")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text[:12] + "…" if len(text) > 40 and isinstance(value, str) else text


def _write(out: Path, value: dict[str, Any]) -> None:
    tmp = out / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(value, indent=1), encoding="utf-8")
    os.replace(tmp, out / RUN_FILE)
