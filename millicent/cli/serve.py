"""``millicent serve`` (the local serverless platform) and ``millicent invoke`` (one call)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from millicent import config
from millicent.cli._common import add_model_specs, add_signing, artifact_path, signer_from_args
from millicent.errors import ConfigError, InvalidInput
from millicent.runtime.requests import question_body, sentence_body


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the models as Lambda functions on the local serverless platform",
        description=(
            "Serve each --model as a Lambda function: an HTTP gateway (API Gateway v2 events "
            "and the Lambda Invoke API) in front of execution environments that run the AWS "
            "Lambda Runtime Interface Client in separate processes, with Lambda's scaling, "
            "timeouts and per-invocation REPORT records."
        ),
    )
    add_model_specs(p, required=False)
    p.add_argument("--function", action="append", default=[], metavar="NAME=MODULE.FUNC",
                   help="serve another Python Lambda handler as function NAME (repeatable)")
    p.add_argument("--store", default=None, metavar="URL",
                   help="embedding store: sqlite:///PATH | dynamodb://TABLE?endpoint=... | redis://HOST:PORT/DB")
    p.add_argument("--pack", default=None, metavar="FILE", help="frequent-word pack bundled with the function")
    p.add_argument("--lru-size", type=int, default=config.DEFAULT_LRU_SIZE,
                   help="words kept in each environment's LRU cache (0 disables)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--max-concurrency", type=int, default=32,
                   help="concurrent executions across all functions; beyond it 429")
    p.add_argument("--idle-timeout", type=float, default=300.0, metavar="S",
                   help="stop an environment idle this long (scale to zero)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="function timeout")
    _add_memory_options(p)
    p.add_argument("--max-body-bytes", type=int, default=config.DEFAULT_MAX_BODY_BYTES)
    p.add_argument("--max-tokens", type=int, default=config.DEFAULT_MAX_TOKENS, help="per text")
    p.add_argument("--max-answers", type=int, default=config.DEFAULT_MAX_ANSWERS)
    p.add_argument("--api-key-env", default=config.API_KEY, metavar="VAR",
                   help=f"require x-api-key equal to this environment variable's value when it is set (default: {config.API_KEY})")
    p.add_argument("--log-dir", default="runs/platform",
                   help="invocations.jsonl (one REPORT record per invocation) and functions.log go here")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment variable for every function (repeatable)")
    p.add_argument("--snapshot", action="store_true",
                   help="emulate Lambda SnapStart: run each function's INIT once in a template "
                        "process before listening, and fork it for every cold start (REPORT "
                        "records then carry Restore Duration instead of Init Duration)")
    p.add_argument("--loop", choices=["auto", "uvloop", "asyncio"], default="auto",
                   help="the platform's event loop: uvloop when installed (auto, the default; "
                        "it is in the serve extra) or asyncio's own")
    p.set_defaults(func=run_serve)

    q = sub.add_parser("invoke", help="send one request to a running endpoint and print the answer")
    q.add_argument("--endpoint", default="http://127.0.0.1:9000", help="gateway URL")
    q.add_argument("--function", default=None, metavar="NAME",
                   help="POST /NAME instead of /classify, /embed or /rank")
    q.add_argument("--sentence", help="classify this sentence (or embed it: --embed)")
    q.add_argument("--embed", action="store_true",
                   help="with --sentence: POST /embed (the first embedding model)")
    q.add_argument("--question", help="rank answers to this question")
    q.add_argument("--answer", action="append", default=[], help="a candidate answer (repeatable)")
    q.add_argument("--api-key-env", default=config.API_KEY, metavar="VAR",
                   help="send x-api-key from this environment variable when it is set")
    q.add_argument("--timeout", type=float, default=60.0)
    add_signing(q)
    q.set_defaults(func=run_invoke)


def _add_memory_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory-mb", type=int, default=128,
                   help="function memory size: Max Memory Used is reported against it and, as "
                        "on Lambda, an environment whose memory passes it is killed (the "
                        "request answers 502 Runtime.OutOfMemory)")
    p.add_argument("--memory-limit", action=argparse.BooleanOptionalAction, default=True,
                   help="enforce --memory-mb as Lambda does (default); --no-memory-limit only "
                        "reports Max Memory Used")
    p.add_argument("--memory-poll-ms", type=float, default=10.0, metavar="MS",
                   help="how often a starting or busy environment's memory is read (a peak "
                        "between two reads still fails its invocation, at the answer)")


def build_functions(args: argparse.Namespace) -> list[Any]:
    """FunctionSpecs for ``--model`` (role read from the artifact) and ``--function``."""
    from millicent.platform.models import build_functions, parse_pairs

    common = {
        config.MAX_BODY_BYTES: str(args.max_body_bytes),
        config.MAX_TOKENS: str(args.max_tokens),
        config.MAX_ANSWERS: str(args.max_answers),
        config.LRU_SIZE: str(args.lru_size),
        **dict(parse_pairs(args.env, "--env")),
    }
    models = [(name, Path(artifact_path(directory)))
              for name, directory in parse_pairs(args.model, "--model")]
    return build_functions(models, parse_pairs(args.function, "--function"), args.store,
                           args.pack, common, args.memory_mb, args.timeout)


def _poll_s(ms: float) -> float:
    if not 0 < ms <= 1000:
        raise ConfigError(f"--memory-poll-ms must be in (0, 1000], got {ms:g}")
    return ms / 1000.0


def run_serve(args: argparse.Namespace) -> int:
    from millicent.platform.functions import PlatformSettings
    from millicent.platform.server import Listen, run

    specs = build_functions(args)
    api_key = os.environ.get(args.api_key_env) or None
    log_dir = Path(args.log_dir)
    settings = PlatformSettings(
        max_concurrency=args.max_concurrency,
        idle_timeout_s=args.idle_timeout,
        record_path=str(log_dir / "invocations.jsonl"),
        function_log_path=str(log_dir / "functions.log"),
        snapshot=args.snapshot,
        memory_limit=args.memory_limit,
        memory_poll_s=_poll_s(args.memory_poll_ms),
    )
    for spec in specs:
        what = spec.environment.get(config.MODELS, spec.handler)
        print(f"function {spec.name}: {what} (role {spec.role or '-'})", file=sys.stderr)
    print(f"records: {settings.record_path}; function logs: {settings.function_log_path}"
          + ("; API key required" if api_key else "")
          + ("; snapshots: INIT once per function, cold starts fork it" if args.snapshot else ""),
          file=sys.stderr)
    print(f"memory: {args.memory_mb} MB per environment, "
          + ("enforced as on Lambda (an environment past it is killed: 502 Runtime.OutOfMemory)"
             if args.memory_limit else "reported only (--no-memory-limit)"), file=sys.stderr)
    run(specs, settings, Listen(args.max_body_bytes, args.host, args.port, api_key), loop=args.loop)
    return 0


def _invoke_body(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    body: dict[str, Any]
    if args.sentence is not None and args.question is None:
        body, route = sentence_body(args.sentence), "embed" if args.embed else "classify"
    elif args.question is not None and args.sentence is None:
        if not args.answer:
            raise InvalidInput("--question needs at least one --answer")
        body, route = question_body(args.question, args.answer), "rank"
    else:
        raise InvalidInput("give --sentence, or --question with --answer")
    return body, route


def run_invoke(args: argparse.Namespace) -> int:
    body, route = _invoke_body(args)
    url = f"{args.endpoint.rstrip('/')}/{args.function or route}"
    headers = {"content-type": "application/json"}
    key = os.environ.get(args.api_key_env)
    if key:
        headers["x-api-key"] = key
    data = json.dumps(body).encode()
    signer = signer_from_args(args, args.endpoint)
    if signer is not None:  # an AWS_IAM Function URL: SigV4 over exactly these bytes
        headers = signer.sign("POST", url, data, headers)
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        raise ConfigError(f"cannot reach {url}: {exc.reason}") from exc
    try:
        print(json.dumps(json.loads(text), indent=2))
    except ValueError:
        print(text)
    if status >= 400:
        print(f"millicent: HTTP {status}", file=sys.stderr)
        return 1
    return 0
