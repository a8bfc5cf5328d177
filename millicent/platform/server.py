"""Run the platform: gateway on ``host:port``, Runtime API on loopback, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from aiohttp import web

from millicent.platform.functions import FunctionSpec, PlatformSettings
from millicent.platform.gateway import Gateway
from millicent.platform.loops import loop_factory
from millicent.platform.platform import Platform


@dataclass(frozen=True)
class Listen:
    """Where the gateway listens and what it enforces before a function sees a request."""

    max_body_bytes: int
    host: str = "127.0.0.1"
    port: int = 9000
    api_key: str | None = None


async def serve(
    functions: Sequence[FunctionSpec],
    settings: PlatformSettings,
    listen: Listen,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); every environment is killed on exit."""
    host, port, api_key = listen.host, listen.port, listen.api_key
    if api_key:
        # the key authenticates callers at the gateway; a function has no business seeing
        # it (with --api-key-env OTHER_VAR it was inherited by every environment process)
        settings = replace(settings, withheld_values=settings.withheld_values | {api_key})
    platform = Platform(functions, settings)
    gateway = Gateway(platform, max_body_bytes=listen.max_body_bytes, api_key=api_key)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await platform.start()
    runner = web.AppRunner(gateway.app, access_log=None)
    site: web.TCPSite | None = None
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        url = f"http://{host}:{site.port}"
        if on_ready is not None:
            on_ready(url)
        await stop.wait()
    finally:
        # stop accepting first, then kill the environments (in-flight requests get their
        # 502 answers), then close the connections
        if site is not None:
            await site.stop()
        await platform.stop()
        await runner.cleanup()


def run(functions: Sequence[FunctionSpec], settings: PlatformSettings, listen: Listen,
        loop: str = "auto") -> None:
    """Blocking entry point for the CLI: prints the URL to stderr once listening."""

    def ready(url: str) -> None:
        print(f"millicent platform listening on {url} ({name} event loop)", file=sys.stderr,
              flush=True)

    factory = loop_factory(loop)
    name = "asyncio" if factory is None else "uvloop"
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(functions, settings, listen, on_ready=ready))
