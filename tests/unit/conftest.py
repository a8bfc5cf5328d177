"""The unit tier is pure logic: no sockets (pytest-socket) and no aiohttp.

Every unit test runs with internet sockets blocked (Unix socket pairs stay allowed: an
asyncio event loop wakes itself through one) and with ``import aiohttp`` failing, so a
test that reaches for the network or the aiohttp modules belongs to the functional tier.
``tests/functional/test_unit_tier.py`` checks from outside that importing the unit tier's
modules loads no aiohttp.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import pytest_socket

#: what the unit tier may not import (the platform's HTTP server and the clients)
FORBIDDEN_MODULES = ("aiohttp",)


@pytest.fixture(autouse=True)
def _unit_tier_is_pure() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=True)
    # None in sys.modules makes ``import aiohttp`` raise ImportError, loaded or not
    hidden = {name: sys.modules.get(name) for name in FORBIDDEN_MODULES}
    for name in FORBIDDEN_MODULES:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name, module in hidden.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        pytest_socket.enable_socket()
