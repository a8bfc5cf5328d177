"""Result lines: one JSON object per input record, always with its input ``line``.

* an answer: ``{"line": 12, "label": ..., "label_index": ..., "probabilities": [...],
  "tokens": [...], "unknown_words": [...]}`` (the function's result for that text);
* an error: ``{"line": 13, "error": CODE, "message": ...}`` (plus ``status`` when the
  function refused the text): ``blank_line`` and ``bad_row`` from the reader, the
  function's own code (``invalid_input``, ``payload_too_large``) otherwise.

Nothing that changes from run to run (timings, request ids, a text's position in its
batch) is written, so a resumed job's file equals an uninterrupted one's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from millicent.data.files import Problem
from millicent.runtime.requests import BATCH_TEXTS

BLANK = "blank line"
_ITEM_REF = re.compile(rf"\b{BATCH_TEXTS}\[\d+\]")


def encode(obj: dict[str, Any]) -> bytes:
    """One compact JSON line, newline-terminated (UTF-8, non-ASCII kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def answer_line(line: int, result: dict[str, Any]) -> bytes:
    return encode({"line": line, **result})


def error_line(line: int, code: str, message: str, status: int | None = None) -> bytes:
    obj: dict[str, Any] = {"line": line, "error": code, "message": message}
    if status is not None:
        obj["status"] = status
    return encode(obj)


def problem_line(line: int, problem: Problem) -> bytes:
    """The error line of a record the reader could not use."""
    code = "blank_line" if problem.message == BLANK else "bad_row"
    return error_line(line, code, problem.message)


def refused_message(message: str) -> str:
    """The function's message about one item, without its position in the batch (which
    depends on how the input was cut into batches): ``sentences[3] is empty`` → ``the
    text is empty``."""
    return _ITEM_REF.sub("the text", message)
