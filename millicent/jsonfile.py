"""JSON files: an object read with the one error message for each way it fails, and
results written and read back.

Price sheets, planner rules and profiles, deployment records, a bench run's plan: each is
JSON in a file a user may name, so each needs the same errors — missing, unreadable, not
JSON (named by line and column), nested too deeply, not an object — raised as the caller's
error class, naming what the file was meant to be. The file is opened by
:mod:`millicent.textfile` (UTF-8 with or without a byte-order mark, UTF-16 with one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError, DataError, MillicentError
from millicent.textfile import read_text


def read_json_value(path: str | os.PathLike[str], what: str,
                    error: type[MillicentError] = ConfigError) -> Any:
    """The JSON value held by ``path`` (``what``: how messages name the file)."""
    text = read_text(path, what, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: {what} {path} is not valid JSON: {exc.msg} "
                    f"(line {exc.lineno}, column {exc.colno})", path=str(path)) from exc
    except RecursionError as exc:
        raise error(f"{what} {path} is not valid JSON: nested too deeply",
                    path=str(path)) from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise error(f"{what} {path} is not valid JSON: {exc}", path=str(path)) from exc


def read_json_object(path: str | os.PathLike[str], what: str,
                     error: type[MillicentError] = ConfigError) -> dict[str, Any]:
    """The JSON object held by ``path`` (``what``: how messages name the file)."""
    raw = read_json_value(path, what, error)
    if not isinstance(raw, dict):
        raise error(f"{what} {path} must hold a JSON object, not {type(raw).__name__}",
                    path=str(path))
    return raw


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON in ``path`` (its directory made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; DataError when it is missing or not JSON."""
    return read_json_value(path, "file", DataError)
