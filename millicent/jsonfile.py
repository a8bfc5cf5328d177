"""JSON files: an object read with the one error message for each way it fails, and
results written and read back.

Price sheets, planner rules and profiles, deployment records: each is a JSON object in a
file a user may name, so each needs the same three errors — missing, not JSON, not an
object — raised as the caller's error class, naming what the file was meant to be.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError, DataError, MillicentError


def read_json_object(path: str | os.PathLike[str], what: str,
                     error: type[MillicentError] = ConfigError) -> dict[str, Any]:
    """The JSON object held by ``path`` (``what``: how messages name the file)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError as exc:
        raise error(f"{what} {path} not found") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{what} {path} must hold a JSON object")
    return raw


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON in ``path`` (its directory made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; DataError when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path} not found") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc
