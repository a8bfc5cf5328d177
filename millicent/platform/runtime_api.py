"""The Lambda Runtime API that execution environments poll, on aiohttp.

Endpoints (as documented for custom runtimes and spoken by ``awslambdaric``)::

    GET  /2018-06-01/runtime/invocation/next            → the event + Lambda-Runtime-* headers
    POST /2018-06-01/runtime/invocation/{id}/response   → 202
    POST /2018-06-01/runtime/invocation/{id}/error      → 202
    POST /2018-06-01/runtime/init/error                 → 202

One aiohttp application serves every environment, but each environment gets its *own*
listening port (a separate ``TCPSite``), and a request is attributed to its environment by
the local port it arrived on. So a process that dies while blocked in ``/next`` can never
receive (and lose) an event meant for a new environment.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from millicent.platform.environment import MAX_RESPONSE_BYTES, ExecutionEnvironment

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class RuntimeAPI:
    """Runtime API endpoints for many environments, one loopback port each."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._by_port: dict[int, ExecutionEnvironment] = {}
        self._sites: dict[str, web.TCPSite] = {}
        # read oversized responses whole so the environment can report Lambda's size error
        app = web.Application(client_max_size=8 * MAX_RESPONSE_BYTES)
        app.router.add_get(PREFIX + "/invocation/next", self._next)
        app.router.add_post(PREFIX + "/invocation/{request_id}/response", self._response)
        app.router.add_post(PREFIX + "/invocation/{request_id}/error", self._error)
        app.router.add_post(PREFIX + "/init/error", self._init_error)
        # no access log: one line per poll would drown the function logs
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def open(self, env: ExecutionEnvironment) -> str:
        """Listen on a fresh port for ``env``; returns ``host:port`` for AWS_LAMBDA_RUNTIME_API."""
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._by_port[site.port] = env
        self._sites[env.env_id] = site
        return f"{self.host}:{site.port}"

    async def close(self, env: ExecutionEnvironment) -> None:
        """Stop listening for ``env`` (after its process is gone)."""
        site = self._sites.pop(env.env_id, None)
        if site is not None:
            self._by_port.pop(site.port, None)
            await site.stop()

    # --- handlers ----------------------------------------------------------------------
    def _env(self, request: web.Request) -> ExecutionEnvironment:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        env = self._by_port.get(sockname[1]) if sockname else None
        if env is None:
            raise web.HTTPGone(text="no execution environment on this port")
        return env

    async def _next(self, request: web.Request) -> web.StreamResponse:
        env = self._env(request)
        try:
            inv = await env.next_event()
        except asyncio.CancelledError:
            # the environment died while polling; nothing to deliver
            raise web.HTTPGone(text="environment stopped") from None
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        }
        if inv.client_context:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        return web.Response(body=inv.payload, headers=headers)

    async def _response(self, request: web.Request) -> web.Response:
        env = self._env(request)
        body = await request.read()
        if not env.respond(request.match_info["request_id"], body):
            return _invalid_request_id()
        return _accepted()

    async def _error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        body = await request.read()
        ok = env.fail(request.match_info["request_id"], body, request.headers.get(ERROR_TYPE_HEADER))
        if not ok:
            return _invalid_request_id()
        return _accepted()

    async def _init_error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        env.init_error(await request.read(), request.headers.get(ERROR_TYPE_HEADER))
        return _accepted()


def _accepted() -> web.Response:
    return web.Response(status=202, body=b'{"status":"OK"}', content_type="application/json")


def _invalid_request_id() -> web.Response:
    return web.json_response(
        {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}, status=400
    )
