"""The platform's event loop (``millicent serve --loop``): uvloop or asyncio's own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from millicent.errors import ConfigError, missing_extra

#: ``--loop`` choices: uvloop when installed (``auto``), or one of the two explicitly.
LOOPS = ("auto", "uvloop", "asyncio")


def loop_factory(loop: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory for ``loop`` (None: asyncio's default loop).

    uvloop (in the ``serve`` extra) runs the gateway and the Runtime API on libuv: on the
    2-core development machine it took 11-19 % off the gateway's CPU per warm request and
    added 3-15 % requests per second at C = 1, 8, 32 (``experiments/platform_ab.py``,
    interleaved with asyncio's loop). ``auto`` falls back to asyncio when it is missing.
    """
    if loop not in LOOPS:
        raise ConfigError(f"unknown event loop {loop!r}; use one of {', '.join(LOOPS)}")
    if loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError as exc:
        if loop == "auto":
            return None
        raise missing_extra("uvloop", "serve") from exc
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
