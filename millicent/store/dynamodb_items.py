"""DynamoDB item encoding and item size (pure functions, no boto3).

Items are ``{"k": {"S": key}, "v": VALUE}`` with VALUE either

* ``{"B": bytes}`` — the ``binary`` layout (little-endian float32 or float16), or
* ``{"L": [{"N": "0.418"}, ...]}`` — the ``list`` layout, the paper's List of Numbers.

Numbers are written as the *shortest* decimal that reads back as the same float32
(``0.418``, not ``0.41800001263618469``), so the list layout round-trips float32 vectors
exactly and its items are as small as that layout allows.

Item size (what DynamoDB bills, in bytes), after the rules in the DynamoDB Developer
Guide ("Item sizes and formats"):

* each attribute costs the UTF-8 length of its name plus the size of its value;
* String: UTF-8 bytes; Binary: raw bytes;
* Number: ≈ 1 byte per two significant digits + 1 (leading/trailing zeros trimmed);
* List: 3 bytes of overhead + 1 byte per element + the elements' sizes.

This is an approximation (the Number rule is documented as "approximately"); the cost
model rounds each item up to the 4 KB read unit, so a few bytes do not change the bill
for any vector below ≈ 3.9 KB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

KEY_ATTR = "k"
VALUE_ATTR = "v"
META_ATTR = "meta"


def number_string(x: float) -> str:
    """Shortest positional decimal that reads back as the same float32 value."""
    s = np.format_float_positional(np.float32(x), unique=True, trim="-")
    return "0" if s in ("-0", "") else s


def to_attribute(raw: Any) -> dict[str, Any]:
    """A store raw value (bytes or a sequence of floats) → a DynamoDB AttributeValue."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return {"B": bytes(raw)}
    return {"L": [{"N": number_string(x)} for x in raw]}


def from_attribute(attr: dict[str, Any]) -> Any:
    """A DynamoDB AttributeValue → raw value: ``bytes`` or a list of number strings."""
    if "B" in attr:
        return attr["B"]
    if "L" in attr:
        return [e["N"] for e in attr["L"]]
    raise ValueError(f"unexpected vector attribute type {sorted(attr)}")


def significant_digits(number: str) -> int:
    """Significant digits of a DynamoDB number string (``-0.00150`` → 2)."""
    mantissa = number.lstrip("+-").lower().split("e", 1)[0].replace(".", "")
    digits = mantissa.strip("0")
    return max(1, len(digits))


def number_size(number: str) -> int:
    """Bytes DynamoDB counts for one Number value."""
    return math.ceil(significant_digits(number) / 2) + 1


def value_size(raw: Any) -> int:
    """Bytes of the vector attribute's value (raw as returned by :func:`from_attribute`)."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return len(raw)
    numbers: Sequence[str] = [n if isinstance(n, str) else number_string(n) for n in raw]
    return 3 + sum(1 + number_size(n) for n in numbers)


def item_size(key: str, raw: Any) -> int:
    """Bytes of one vector item ``{k: key, v: raw}`` as DynamoDB sizes it."""
    return (
        len(KEY_ATTR) + len(key.encode("utf-8")) + len(VALUE_ATTR) + value_size(raw)
    )
