"""Reading a JSON object from a file, with the one error message for each way it fails.

Price sheets, planner rules and profiles, deployment records: each is a JSON object in a
file a user may name, so each needs the same three errors — missing, not JSON, not an
object — raised as the caller's error class, naming what the file was meant to be.
"""

from __future__ import annotations

import json
import os
from typing import Any

from millicent.errors import ConfigError, MillicentError


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
