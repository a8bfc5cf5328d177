"""The platform's event loop choice (``millicent serve --loop``)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from millicent.errors import ConfigError
from millicent.platform.loops import loop_factory


def test_asyncio_is_the_default_loop_and_auto_prefers_uvloop() -> None:
    assert loop_factory("asyncio") is None
    auto = loop_factory("auto")
    if importlib.util.find_spec("uvloop") is None:
        assert auto is None
        with pytest.raises(ConfigError, match=r"millicent\[serve\]"):
            loop_factory("uvloop")
        return
    assert auto is not None and loop_factory("uvloop") is not None
    loop = auto()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop) and "uvloop" in type(loop).__module__
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_unknown_loop_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown event loop"):
        loop_factory("trio")
