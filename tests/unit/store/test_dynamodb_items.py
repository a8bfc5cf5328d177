"""DynamoDB item encoding (shortest float32 numbers) and item-size accounting."""

from __future__ import annotations

import numpy as np

from millicent.store import dynamodb_items as di


def test_number_strings_round_trip_float32_exactly() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.standard_normal(20000).astype(np.float32),
        (rng.standard_normal(2000) * 1e-30).astype(np.float32),
        np.array([0.0, -0.0, 1e-45, -3.4028235e38, 3.4028235e38, 0.418], dtype=np.float32),
    ])
    strings = [di.number_string(float(x)) for x in values]
    back = np.array([float(s) for s in strings], dtype=np.float32)
    assert np.array_equal(back, values)
    assert di.number_string(0.41800001263618469) == "0.418"
    assert all("e" not in s.lower() for s in strings)  # positional: any DynamoDB accepts it


def test_attribute_round_trip() -> None:
    raw = np.arange(4, dtype="<f4").tobytes()
    assert di.from_attribute(di.to_attribute(raw)) == raw
    lst = di.to_attribute([0.5, -1.25])
    assert lst == {"L": [{"N": "0.5"}, {"N": "-1.25"}]}
    assert di.from_attribute(lst) == ["0.5", "-1.25"]


def test_significant_digits_and_sizes() -> None:
    assert di.significant_digits("-0.00150") == 2
    assert di.significant_digits("340282350000000000000000000000000000000") == 8
    assert di.significant_digits("0") == 1
    assert di.number_size("0.418") == 3  # 3 digits -> 2 bytes + 1
    # binary: names k, v (1 byte each) + key + value bytes
    assert di.item_size("the", b"\0" * 200) == 1 + 3 + 1 + 200
    # list of two numbers: 3 overhead + per element (1 + size)
    assert di.item_size("é", ["0.5", "-1.25"]) == 1 + 2 + 1 + 3 + (1 + 2) + (1 + 3)
