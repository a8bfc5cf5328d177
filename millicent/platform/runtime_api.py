"""The Lambda Runtime API that execution environments poll: a small HTTP/1.1 server on asyncio.

Endpoints (as documented for custom runtimes and spoken by ``awslambdaric``)::

    GET  /2018-06-01/runtime/invocation/next            → the event + Lambda-Runtime-* headers
    POST /2018-06-01/runtime/invocation/{id}/response   → 202
    POST /2018-06-01/runtime/invocation/{id}/error      → 202
    POST /2018-06-01/runtime/init/error                 → 202
    GET  /2018-06-01/runtime/restore/next               → 200 (a restored runtime, SnapStart)
    POST /2018-06-01/runtime/restore/error              → 202

Each environment gets its *own* listening port, and a connection belongs to the
environment whose port it arrived on. So a process that dies while blocked in ``/next``
can never receive (and lose) an event meant for a new environment; and a ``/next`` whose
connection closes stops waiting at once.

Why not aiohttp (the gateway's framework): every invocation crosses this API twice (the
event out, the answer in), and a general web framework's request, routing and response
objects were about half of the platform process's CPU per warm invocation. The clients
here are runtime clients on loopback sending four fixed requests, so a direct
``asyncio.Protocol`` serves them: HTTP/1.1 keep-alive, ``Content-Length`` or chunked
bodies, ``Expect: 100-continue``, and clear 4xx answers for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any, cast

from millicent.platform.sandbox import MAX_RESPONSE_BYTES, ExecutionEnvironment, Invocation

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_NEXT = PREFIX + "/invocation/next"
_INVOCATION = PREFIX + "/invocation/"
_INIT_ERROR = PREFIX + "/init/error"
_RESTORE_NEXT = PREFIX + "/restore/next"
_RESTORE_ERROR = PREFIX + "/restore/error"

#: Largest request body read: oversized responses are read whole, so that the environment
#: can report Lambda's Function.ResponseSizeTooLarge rather than a broken connection.
MAX_BODY_BYTES = 8 * MAX_RESPONSE_BYTES
MAX_HEAD_BYTES = 64 * 1024

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 410: "Gone", 413: "Payload Too Large",
            431: "Request Header Fields Too Large"}
_ACCEPTED = b'{"status":"OK"}'
_INVALID_ID = b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}'


def _error(message: str, kind: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": kind}).encode()


class RuntimeAPI:
    """Runtime API endpoints for many environments, one loopback port each."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._connections: dict[str, set[_Connection]] = {}

    async def start(self) -> None:
        """Nothing to do: each environment's port is opened by :meth:`open`."""

    async def stop(self) -> None:
        for env_id in list(self._servers):
            await self._close(env_id)

    async def open(self, env: ExecutionEnvironment) -> str:
        """Listen on a fresh port for ``env``; returns ``host:port`` for AWS_LAMBDA_RUNTIME_API."""
        conns: set[_Connection] = set()
        server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(env, conns), self.host, 0)
        self._servers[env.env_id] = server
        self._connections[env.env_id] = conns
        port = server.sockets[0].getsockname()[1]
        return f"{self.host}:{port}"

    async def close(self, env: ExecutionEnvironment) -> None:
        """Stop listening for ``env`` (after its process is gone) and drop its connections."""
        await self._close(env.env_id)

    async def _close(self, env_id: str) -> None:
        server = self._servers.pop(env_id, None)
        for conn in self._connections.pop(env_id, set()):
            conn.abort()
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()


class _Connection(asyncio.Protocol):
    """One runtime client connection: requests are served in order, one at a time."""

    def __init__(self, env: ExecutionEnvironment, registry: set[_Connection]) -> None:
        self.env = env
        self._registry = registry
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: asyncio.Task[Invocation] | None = None  # a /next waiting for an event
        self._continued = False  # "100 Continue" sent for the request being read

    # --- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        self._transport = cast(asyncio.Transport, transport)
        self._registry.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # Nagle + delayed ACK would add ~40 ms to small writes
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._registry.discard(self)
        self._transport = None
        if self._pending is not None:  # nobody is left to hand the event to
            self._pending.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._pending is None:
            self._serve()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # --- HTTP/1.1 ------------------------------------------------------------------------
    def _serve(self) -> None:
        """Answer every complete request in the buffer (stops while a /next waits)."""
        while self._pending is None and self._transport is not None:
            request = self._take_request()
            if request is None:
                return
            method, target, headers, body, keep_alive = request
            self._dispatch(method, target, headers, body)
            if not keep_alive and self._transport is not None:
                if self._pending is None:
                    self._transport.close()
                else:
                    self._pending.add_done_callback(lambda _: self._close_quietly())
                return

    def _close_quietly(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _take_request(self) -> tuple[str, str, dict[str, str], bytes, bool] | None:
        """The next complete request, removed from the buffer; None until one is complete."""
        buf = self._buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                self._fail(431, "request head too large")
            return None
        try:
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            length = 0 if chunked else int(headers.get("content-length") or 0)
        except ValueError:
            self._fail(400, "malformed HTTP request")
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self._fail(413, f"request body over {MAX_BODY_BYTES} bytes")
            return None
        start = end + 4
        if chunked:
            parsed = _dechunk(buf, start)
            if parsed is None:
                self._continue(headers)
                if len(buf) - start > MAX_BODY_BYTES + MAX_HEAD_BYTES:
                    self._fail(413, f"request body over {MAX_BODY_BYTES} bytes")
                return None
            if isinstance(parsed, int):
                self._fail(400, "malformed chunked body")
                return None
            body, stop = parsed
        else:
            if len(buf) < start + length:
                self._continue(headers)
                return None
            body, stop = bytes(buf[start : start + length]), start + length
        del buf[:stop]
        self._continued = False
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        return method, target, headers, body, keep_alive

    def _continue(self, headers: dict[str, str]) -> None:
        # curl waits up to a second for this before sending a large body
        if (not self._continued and headers.get("expect", "").lower() == "100-continue"
                and self._transport is not None):
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._continued = True

    def _fail(self, status: int, message: str) -> None:
        """Answer a request that cannot be read, then close the connection."""
        self._write(status, _error(message, "InvalidRequest"))
        self._buffer.clear()
        self._close_quietly()

    def _write(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        if self._transport is None:
            return
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
                "Content-Type: application/json", f"Content-Length: {len(body)}"]
        if headers:
            head.extend(f"{k}: {v}" for k, v in headers.items())
        self._transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    # --- the four endpoints --------------------------------------------------------------
    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        path = target.split("?", 1)[0]
        env = self.env
        if path == _NEXT:
            if method != "GET":
                self._write(405, _error("use GET", "MethodNotAllowed"))
                return
            task = asyncio.ensure_future(env.next_event())
            self._pending = task
            task.add_done_callback(self._deliver)
            return
        if path == _RESTORE_NEXT:
            if method != "GET":
                self._write(405, _error("use GET", "MethodNotAllowed"))
                return
            env.restore_next()
            self._write(200, b"{}")
            return
        if method != "POST":
            known = path in (_INIT_ERROR, _RESTORE_ERROR) or (
                path.startswith(_INVOCATION) and path.endswith(("/response", "/error")))
            self._write(405 if known else 404, _error(f"no route {method} {path}", "NotFound"))
            return
        error_type = headers.get(ERROR_TYPE_HEADER.lower())
        if path in (_INIT_ERROR, _RESTORE_ERROR):
            env.init_error(body, error_type)
            self._write(202, _ACCEPTED)
            return
        request_id, _, action = path[len(_INVOCATION):].rpartition("/")
        if not path.startswith(_INVOCATION) or not request_id or "/" in request_id or (
                action not in ("response", "error")):
            self._write(404, _error(f"no route {method} {path}", "NotFound"))
            return
        ok = env.respond(request_id, body) if action == "response" else env.fail(
            request_id, body, error_type)
        if ok:
            self._write(202, _ACCEPTED)
        else:
            self._write(400, _INVALID_ID)

    def _deliver(self, task: asyncio.Task[Invocation]) -> None:
        """The event a /next waited for (or the environment stopped): answer, go on reading."""
        self._pending = None
        if task.cancelled() or task.exception() is not None:
            # the environment died while polling (or the connection did): nothing to deliver
            self._write(410, _error("environment stopped", "Gone"))
        else:
            inv = task.result()
            headers = {
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
                "Lambda-Runtime-Trace-Id": inv.trace_id,
            }
            if inv.client_context:
                headers["Lambda-Runtime-Client-Context"] = inv.client_context
            self._write(200, inv.payload, headers)
        if self._buffer:
            self._serve()


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | int | None:
    """A chunked body starting at ``start``: (body, end offset), None if incomplete, −1 if
    malformed. Trailers are ignored."""
    parts: list[Any] = []
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            return -1
        if size < 0:
            return -1
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)  # empty line, after any trailers
            while end > pos:
                pos = end + 2
                end = buf.find(b"\r\n", pos)
            if end < 0:
                return None
            return b"".join(parts), end + 2
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2
