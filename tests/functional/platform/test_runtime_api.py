"""The Runtime API server over real loopback sockets, with raw HTTP/1.1 written by hand.

The runtime client (awslambdaric) is exercised by tests/integration/platform/test_platform.py; here
the HTTP edges it does not hit: chunked bodies, ``Expect: 100-continue``, several requests
on one connection, unknown routes and methods, malformed and oversized requests, and a
``/next`` whose connection closes while it waits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from millicent.platform.launch import Launch
from millicent.platform.loops import loop_factory
from millicent.platform.runtime_api import MAX_BODY_BYTES, RuntimeAPI
from millicent.platform.sandbox import ExecutionEnvironment, InitFailed, Invocation

NEXT = "/2018-06-01/runtime/invocation/next"


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    """Both event loops the platform runs on (uvloop when installed, asyncio's own)."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return str(request.param)


def run(loop: str, test: Callable[[RuntimeAPI, ExecutionEnvironment, str],
                                  Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        api = RuntimeAPI()
        await api.start()
        env = ExecutionEnvironment("fn-1", Launch("m.h", "fn", 128, 3.0, {}), lambda *_: None)
        # a stand-in process (the environment only needs one alive): the test plays the
        # runtime client over the socket
        env.spawned = time.perf_counter()
        env.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(60)", start_new_session=True)
        address = await api.open(env)
        try:
            await asyncio.wait_for(test(api, env, address), 10)
        finally:
            await env.kill()
            await api.stop()

    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        runner.run(main())


async def connect(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address.split(":")
    return await asyncio.open_connection(host, int(port))


async def response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers, body


def invocation(request_id: str = "req-1", payload: bytes = b'{"x": 1}') -> Invocation:
    return Invocation(request_id=request_id, payload=payload, deadline_ms=123,
                      function_arn="arn:aws:lambda:us-east-1:1:function:fn", trace_id="Root=1-a")


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


def test_next_then_response_on_one_keep_alive_connection(loop: str) -> None:
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        for n in (1, 2):  # two invocations over the same connection
            writer.write(f"GET {NEXT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            inv = invocation(f"req-{n}", b'{"n": %d}' % n)
            outcome = asyncio.ensure_future(env.invoke(inv, 3.0))
            status, headers, body = await response(reader)
            assert status == 200 and json.loads(body) == {"n": n}
            assert headers["lambda-runtime-aws-request-id"] == f"req-{n}"
            assert headers["lambda-runtime-deadline-ms"] == "123"
            assert headers["lambda-runtime-trace-id"] == "Root=1-a"
            writer.write(post(f"/2018-06-01/runtime/invocation/req-{n}/response", b'"done"'))
            status, _, body = await response(reader)
            assert status == 202 and json.loads(body) == {"status": "OK"}
            assert (await outcome).body == b'"done"' and (await outcome).kind == "response"
        writer.close()

    run(loop, test)


def test_chunked_body_expect_continue_and_error_type(loop: str) -> None:
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        writer.write(f"GET {NEXT} HTTP/1.1\r\n\r\n".encode())
        outcome = asyncio.ensure_future(env.invoke(invocation(), 3.0))
        assert (await response(reader))[0] == 200
        writer.write(b"POST /2018-06-01/runtime/invocation/req-1/error HTTP/1.1\r\n"
                     b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
                     b"Lambda-Runtime-Function-Error-Type: Custom.Thing\r\n\r\n")
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b'5\r\n{"err\r\n9;ext=1\r\nor": "x"}\r\n0\r\nX-Trailer: y\r\n\r\n')
        assert (await response(reader))[0] == 202
        got = await outcome
        assert (got.kind, got.error_type, got.body) == ("error", "Custom.Thing", b'{"error": "x"}')
        writer.close()

    run(loop, test)


def test_routes_methods_and_bad_requests(loop: str) -> None:
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        writer.write(post("/2018-06-01/runtime/invocation/nope/response", b"{}"))
        status, _, body = await response(reader)  # not the current invocation
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
        writer.write(post("/2018-06-01/runtime/elsewhere", b""))
        assert (await response(reader))[0] == 404
        writer.write(b"GET /2018-06-01/runtime/init/error HTTP/1.1\r\n\r\n")
        assert (await response(reader))[0] == 405
        writer.write(post(NEXT, b""))
        assert (await response(reader))[0] == 405
        writer.close()
        for raw, status in ((b"NONSENSE\r\n\r\n", 400),
                            (b"POST /x HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400),
                            (f"POST /x HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
                             .encode(), 413),
                            (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)):
            reader, writer = await connect(address)
            writer.write(raw)
            assert (await response(reader))[0] == status
            assert await reader.read() == b""  # and the connection is closed
            writer.close()

    run(loop, test)


def test_init_error_reaches_the_environment(loop: str) -> None:
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        writer.write(post("/2018-06-01/runtime/init/error", b'{"errorMessage": "boom"}',
                          "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n"))
        assert (await response(reader))[0] == 202
        assert env._init_error == {"errorMessage": "boom", "errorType": "Runtime.ImportModuleError"}
        # the environment has failed at once: its INIT is over, whether or not it exits
        with pytest.raises(InitFailed) as failed:
            await env.wait_ready(1.0)
        assert failed.value.error["errorMessage"] == "boom"
        writer.close()

    run(loop, test)


def test_restore_next_and_restore_error(loop: str) -> None:
    """A runtime restored from a snapshot asks /restore/next (answered at once: the restore
    happened) and reports a failed after-restore hook on /restore/error — an init error."""
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        writer.write(b"GET /2018-06-01/runtime/restore/next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await response(reader))[0] == 200
        writer.write(post("/2018-06-01/runtime/restore/next", b""))
        assert (await response(reader))[0] == 405
        body = b'{"errorMessage": "hook", "errorType": "RuntimeError", "stackTrace": []}'
        writer.write(post("/2018-06-01/runtime/restore/error", body,
                          "Lambda-Runtime-Function-Error-Type: Runtime.AfterRestoreError\r\n"))
        assert (await response(reader))[0] == 202
        with pytest.raises(InitFailed) as failed:
            await env.wait_ready(1.0)
        assert failed.value.error["errorType"] == "RuntimeError"  # as awslambdaric sent it
        writer.close()

    run(loop, test)


def test_a_next_whose_connection_closes_stops_waiting(loop: str) -> None:
    async def test(api: RuntimeAPI, env: ExecutionEnvironment, address: str) -> None:
        reader, writer = await connect(address)
        writer.write(f"GET {NEXT} HTTP/1.1\r\n\r\n".encode())
        for _ in range(100):
            if env._waiter is not None:
                break
            await asyncio.sleep(0.01)
        assert env._waiter is not None  # the poll is waiting for an event
        writer.close()
        for _ in range(100):
            if env._waiter is None:
                break
            await asyncio.sleep(0.01)
        # nobody waits any more: the next event is queued for the next poll, not lost
        assert env._waiter is None
        outcome = asyncio.ensure_future(env.invoke(invocation(), 3.0))
        reader, writer = await connect(address)
        writer.write(f"GET {NEXT} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        status, headers, _ = await response(reader)
        assert status == 200 and headers["lambda-runtime-aws-request-id"] == "req-1"
        assert await reader.read() == b""  # Connection: close honoured
        env.respond("req-1", b"{}")
        assert (await outcome).kind == "response"

    run(loop, test)
