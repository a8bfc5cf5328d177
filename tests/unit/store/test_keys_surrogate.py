"""A lone surrogate (valid in a Python str, invalid in UTF-8) is simply not a storable key."""

from millicent.store.base import storable_key


def test_lone_surrogate_is_not_storable() -> None:
    assert storable_key("\ud800") is False
    assert storable_key("ok") is True
