"""The HTTP front door of the local platform (aiohttp).

Routes::

    GET  /health                                     → the first function (v2 event)
    ANY  /classify, /rank, /{function}               → that function (API Gateway v2 event)
    POST /2015-03-31/functions/{name}/invocations    → the Lambda Invoke API (boto3 ``invoke``)
    GET  /_millicent/stats                           → totals and live environments (JSON)

Every invocation's REPORT record is echoed in ``x-millicent-*`` response headers for the
benchmark harness. Status codes are decided here and in the handler only: a function
error whose ``errorType`` names a millicent error gets that error's status; a failed INIT
(or restore) is 502 whatever its error type (Lambda's Function URL and API Gateway answer
a function that cannot start so), with the error awslambdaric posted; a crashed
environment is 502, as is one killed for passing its memory size (``out_of_memory``, with
the memory it used), a timed-out one 504, a throttle 429. When an API key is configured
every request needs ``x-api-key`` (401 missing, 403 wrong).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from millicent import errors
from millicent.errors import MillicentError
from millicent.platform.answers import error_status, report_headers
from millicent.platform.apigw import HttpRequest, MalformedResponse, http_answer, http_api_event
from millicent.platform.memory import OUT_OF_MEMORY_ERROR, explain
from millicent.platform.platform import InvocationResult, Platform, random_hex

#: Lambda's limit on a synchronous invocation payload.
MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024
INVOKE_PREFIX = "/2015-03-31/functions/"
STATS_PATH = "/_millicent/stats"

log = logging.getLogger("millicent.platform")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_error(exc: MillicentError, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(exc.to_dict(), status=exc.status, headers=headers)


class Gateway:
    """aiohttp application in front of a :class:`Platform`."""

    def __init__(self, platform: Platform, *, max_body_bytes: int, api_key: str | None = None) -> None:
        self.platform = platform
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key or None
        self._background: set[asyncio.Task[Any]] = set()
        self.app = web.Application(
            client_max_size=max(max_body_bytes, MAX_INVOKE_PAYLOAD) + 1,
            middlewares=[self._guard],
        )
        self.app.router.add_post(INVOKE_PREFIX + "{name}/invocations", self._invoke_api)
        self.app.router.add_get(STATS_PATH, self._stats)
        self.app.router.add_route("*", "/health", self._health)
        # every other path: its first segment names the function, the handler routes the
        # rest (as behind API Gateway's $default route) — so "/classify/" and "//classify"
        # reach the function like "/classify", and "/classify/x" gets the handler's JSON 404
        self.app.router.add_route("*", "/{path:.*}", self._http)

    # --- middleware: API key, JSON errors for everything -------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.api_key is not None:
            given = request.headers.get("x-api-key")
            if given is None:
                return _json_error(errors.Unauthorized("missing x-api-key header"))
            # surrogateescape: aiohttp keeps undecodable header bytes as surrogates, and a
            # strict encode of a non-UTF-8 key raised here (a 500 before any JSON answer)
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                       self.api_key.encode("utf-8", "surrogateescape")):
                return _json_error(errors.Forbidden("invalid API key"))
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return _json_error(errors.PayloadTooLarge(
                f"request body over the limit of {self.max_body_bytes} bytes",
                limit=self.max_body_bytes))
        except web.HTTPNotFound:
            return _json_error(errors.NotFound(f"no route for {request.method} {request.path}"))
        except web.HTTPMethodNotAllowed:
            return _json_error(errors.MethodNotAllowed(
                f"{request.method} is not allowed on {request.path}"))
        except MillicentError as exc:
            return _json_error(exc)
        except web.HTTPException:
            raise
        except Exception as exc:  # a platform bug: still a JSON answer, and the traceback logged
            log.exception("gateway error on %s %s", request.method, request.path)
            return _json_error(MillicentError(f"platform error: {type(exc).__name__}: {exc}"))

    # --- API Gateway-style routes ------------------------------------------------------
    async def _health(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, next(iter(self.platform.functions)))

    async def _http(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == STATS_PATH or (path.startswith(INVOKE_PREFIX) and path.endswith("/invocations")):
            # a platform route asked with the wrong method (the catch-all route matched it)
            raise web.HTTPMethodNotAllowed(request.method, ["GET" if path == STATS_PATH else "POST"])
        name = next((part for part in path.split("/") if part), "")
        if name == "health":
            return await self._health(request)
        target = self.platform.aliases.get(name, name)
        if target not in self.platform.functions:
            known = sorted({*self.platform.functions, *self.platform.aliases})
            return _json_error(errors.NotFound(
                f"no function or route {request.path!r}; known: {', '.join('/' + k for k in known)}"))
        return await self._forward(request, target)

    async def _forward(self, request: web.Request, function: str) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_body_bytes, actual_size=request.content_length)
        body = await request.read()
        if len(body) > self.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_body_bytes, actual_size=len(body))
        gw_request_id = random_hex(64)
        event = http_api_event(
            HttpRequest(request.method, request.path, request.query_string, request.headers.items(),
                        body, request.remote or "127.0.0.1", gw_request_id, request.host),
            account_id=self.platform.settings.account_id,
        )
        try:
            result = await self.platform.invoke(function, json.dumps(event).encode(), source="http")
        except MillicentError as exc:  # throttled
            return _json_error(exc, {"apigw-requestid": gw_request_id})
        headers = {"apigw-requestid": gw_request_id, **report_headers(result.record)}
        if result.function_error is not None:
            return self._function_error(result, headers)
        try:
            answer = http_answer(result.payload)
        except MalformedResponse as exc:
            err = errors.FunctionError(f"malformed function response: {exc}")
            return _json_error(err, headers)
        out = web.Response(status=answer.status, body=answer.body, headers={**answer.headers, **headers})
        for cookie in answer.cookies:
            out.headers.add("set-cookie", cookie)
        return out

    @staticmethod
    def _function_error(result: InvocationResult, headers: dict[str, str]) -> web.Response:
        try:
            error = json.loads(result.payload)
            message = str(error.get("errorMessage", ""))
        except (ValueError, AttributeError):
            message = result.payload.decode("utf-8", "replace")
        record = result.record
        if record.status == "init_error":  # whatever the error, the function did not start
            status, code = 502, "init_error"
        else:
            status = error_status(result.error_type)
            cls = getattr(errors, result.error_type or "", None)
            code = cls.code if isinstance(cls, type) and issubclass(cls, MillicentError) else (
                "function_timeout" if status == 504 else "function_error")
        body: dict[str, Any] = {"error": code, "message": message, "errorType": result.error_type}
        if result.error_type == OUT_OF_MEMORY_ERROR:  # Lambda's message names no cause
            phase = "invoke" if record.status != "init_error" else record.init_kind or "init"
            body.update(error="out_of_memory" if code != "init_error" else code,
                        message=explain(record.max_memory_mb, record.memory_mb, phase),
                        memory_mb=record.memory_mb, max_memory_mb=record.max_memory_mb)
        return web.json_response(body, status=status, headers=headers)

    # --- the Lambda Invoke API ---------------------------------------------------------
    async def _invoke_api(self, request: web.Request) -> web.StreamResponse:
        name = _function_name(request.match_info["name"])
        qualifier = request.query.get("Qualifier")
        if name not in self.platform.functions or qualifier not in (None, "$LATEST"):
            return _aws_error(404, "ResourceNotFoundException",
                              f"Function not found: {self.platform.settings.function_arn(name)}")
        if request.content_length is not None and request.content_length > MAX_INVOKE_PAYLOAD:
            return _aws_error(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
        payload = await request.read() or b"{}"
        try:
            # strict UTF-8 JSON, as the runtime client (simplejson) parses it: json.loads on
            # bytes also took UTF-16 and UTF-8-encoded surrogates, and NaN/Infinity, which
            # then failed inside the environment as a 502 Runtime.UnmarshalError
            json.loads(payload.decode("utf-8-sig"), parse_constant=_not_json)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _aws_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        client_context = None
        raw_context = request.headers.get("X-Amz-Client-Context")
        if raw_context:
            try:
                client_context = base64.b64decode(raw_context, validate=True).decode()
                # a JSON object, as Lambda requires: anything else reached the runtime client,
                # which failed the invocation (Runtime.LambdaContextUnmarshalError, a 502)
                if not isinstance(json.loads(client_context), dict):
                    raise ValueError("not a JSON object")
            except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError included
                return _aws_error(400, "InvalidRequestContentException",
                                  "Client context must be a valid Base64-encoded JSON object")
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            return web.Response(status=204)
        if kind == "Event":
            task = asyncio.create_task(self._quiet_invoke(name, payload, client_context))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return web.Response(status=202, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if kind != "RequestResponse":
            return _aws_error(400, "InvalidParameterValueException", f"Unsupported invocation type {kind!r}")
        try:
            result = await self.platform.invoke(name, payload, source="invoke", client_context=client_context)
        except errors.TooManyRequests as exc:
            return _aws_error(429, "TooManyRequestsException", exc.message,
                              Reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        headers = {
            "x-amzn-RequestId": result.record.request_id,
            "X-Amz-Executed-Version": "$LATEST",
            **report_headers(result.record),
        }
        if result.function_error is not None:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = _log_tail(result)
        return web.Response(status=200, body=result.payload, headers=headers,
                            content_type="application/json")

    async def _quiet_invoke(self, name: str, payload: bytes, client_context: str | None) -> None:
        # Lambda would retry a throttled async event; here the throttle count records it
        with contextlib.suppress(MillicentError):
            await self.platform.invoke(name, payload, source="invoke", client_context=client_context)

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.platform.stats())


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _function_name(raw: str) -> str:
    """Accept a name, ``name:qualifier`` or a (partial) function ARN, as Lambda does."""
    if ":function:" in raw:
        raw = raw.split(":function:", 1)[1]
    return raw.split(":", 1)[0]


def _aws_error(status: int, error_type: str, message: str, **extra: str) -> web.Response:
    """An AWS REST-JSON error botocore understands (``x-amzn-ErrorType`` + ``message``)."""
    body = {"Type": "User", "message": message, **extra}
    return web.json_response(body, status=status,
                             headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())})


def _log_tail(result: InvocationResult) -> str:
    """Lambda's ``LogType=Tail``: the last 4 KB of the invocation's log, base64-encoded."""
    rid = result.record.request_id
    lines = [f"START RequestId: {rid} Version: $LATEST", *result.logs,
             f"END RequestId: {rid}", result.record.report_line()]
    text = ("\n".join(lines) + "\n").encode()
    return base64.b64encode(text[-4096:]).decode("ascii")
