"""Security defaults: loopback only unless told otherwise, an optional API key that stops
callers before any function runs (and never reaches a function), the body limit at the
gateway, malformed HTTP that never reaches a function, and no code path that unpickles or
evaluates data.

The CloudFormation template's IAM policy (reads on the one table, writes to the function's
own log group, nothing else) is checked by tests/unit/deploy/test_template.py
(``test_role_allows_only_table_reads_and_own_logs``) and, as deployed, by
tests/integration/deploy/test_moto.py (``test_deploy_update_destroy``).
"""

from __future__ import annotations

import ast
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from millicent.testing.loopback import PlatformProcess, start_platform
from tests.servers import REPO

KEY_VAR = "RELIABILITY_GATEWAY_KEY"
KEY = "k3y-for-the-reliability-suite"


# --- listening sockets ----------------------------------------------------------------
def listening(pid: int) -> list[tuple[str, int]]:
    """``(address, port)`` of every TCP socket process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            # /proc prints the address as 32-bit words in host (little-endian) order
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            out.append((socket.inet_ntop(family, words), int(hex_port, 16)))
    return out


@pytest.mark.integration
def test_the_platform_listens_on_loopback_only(platform: PlatformProcess) -> None:
    """Started without --host: the gateway and every Runtime API port are 127.0.0.1."""
    assert platform.post("/classify", {"sentence": "a fine film ."}).status == 200
    sockets = listening(platform.proc.pid)
    ports = {port for _, port in sockets}
    assert platform.port in ports
    assert len(sockets) >= 2, sockets  # the gateway + one Runtime API port per environment
    assert {addr for addr, _ in sockets} == {"127.0.0.1"}, sockets
    for pid in platform.env_pids():  # the environments listen on nothing
        assert listening(int(pid)) == []


def test_serve_binds_loopback_by_default() -> None:
    import argparse

    from millicent.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    assert parser.parse_args(["serve"]).host == "127.0.0.1"


# --- API key, body limit, malformed HTTP ----------------------------------------------
@pytest.fixture(scope="module")
def keyed(artifacts: tuple[Path, Path], sqlite_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(["--model", f"kim={artifacts[0]}", "--store", sqlite_url,
                        "--api-key-env", KEY_VAR, "--max-body-bytes", "2000"],
                       tmp_path_factory.mktemp("keyed"), env={KEY_VAR: KEY})
    yield p
    assert p.stop() == 0


AUTH = {"x-api-key": KEY}


@pytest.mark.integration
def test_api_key_is_required_everywhere_and_checked_before_any_invocation(keyed: PlatformProcess) -> None:
    ok = keyed.post("/classify", {"sentence": "a fine film ."}, headers=AUTH)
    assert ok.status == 200
    before = keyed.stats(AUTH)["invocations"]
    requests = [("POST", "/classify"), ("POST", "/kim"), ("GET", "/health"), ("GET", "/_millicent/stats"),
                ("POST", "/2015-03-31/functions/kim/invocations"), ("POST", "/nope"), ("GET", "/")]
    for method, path in requests:
        body = json.dumps({"sentence": "a fine film ."}).encode() if method == "POST" else None
        for headers, status, code in (({}, 401, "unauthorized"), ({"x-api-key": "wrong"}, 403, "forbidden"),
                                      ({"x-api-key": ""}, 403, "forbidden"),
                                      ({"X-API-KEY": KEY.upper()}, 403, "forbidden")):
            r = keyed.request(method, path, body, headers=headers)
            assert r.status == status, (method, path, headers, r.body)
            assert r.json()["error"] == code and r.json()["message"]
    # a key that is not UTF-8 is just a wrong key (it was a 500 from the gateway)
    reply = raw_exchange(keyed.port, b"POST /classify HTTP/1.1\r\nHost: x\r\nx-api-key: \xff\xfe\r\n"
                                     b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert reply.startswith(b"HTTP/1.1 403 ") and b'"forbidden"' in reply, reply[:200]
    assert keyed.stats(AUTH)["invocations"] == before, "an unauthenticated request ran a function"


@pytest.mark.integration
def test_boto3_without_the_key_is_refused(keyed: PlatformProcess) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    lam = boto3.client("lambda", endpoint_url=keyed.url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x",
                       config=Config(retries={"max_attempts": 0}))
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="kim", Payload=json.dumps({"sentence": "a fine film ."}))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401

    def add_key(request: object, **_: object) -> None:
        request.headers["x-api-key"] = KEY  # type: ignore[attr-defined]

    lam.meta.events.register("before-sign.lambda.Invoke", add_key)
    r = lam.invoke(FunctionName="kim", Payload=json.dumps({"sentence": "a fine film ."}))
    assert "FunctionError" not in r and json.loads(r["Payload"].read())["model"] == "kim"


@pytest.mark.integration
def test_the_key_never_reaches_a_function(keyed: PlatformProcess) -> None:
    assert keyed.post("/classify", {"sentence": "a fine film ."}, headers=AUTH).status == 200
    pids = [e["pid"] for e in keyed.stats(AUTH)["environment_details"]]
    assert pids
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert KEY.encode() not in environ and KEY_VAR.encode() not in environ


@pytest.mark.integration
def test_body_limit_is_enforced_at_the_gateway(keyed: PlatformProcess) -> None:
    before = keyed.stats(AUTH)["invocations"]
    big = json.dumps({"sentence": "good " * 500}).encode()
    r = keyed.request("POST", "/classify", big, headers=AUTH)
    assert r.status == 413 and r.json()["error"] == "payload_too_large" and r.json()["limit"] == 2000
    assert keyed.stats(AUTH)["invocations"] == before, "an oversized body reached a function"
    fits = json.dumps({"sentence": "good " * 300}).encode()
    assert keyed.request("POST", "/classify", fits, headers=AUTH).status == 200


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes on a fresh connection; read until the server closes it (it does after a
    parse error) or 5 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
    return out


@pytest.mark.integration
def test_malformed_http_never_reaches_a_function(keyed: PlatformProcess) -> None:
    before = keyed.stats(AUTH)["invocations"]
    garbage = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS ClientHello
        b"FOO /classify HTTP/1.1\r\nHost: x\r\n\r\n",  # a method the parser does not know
        b"POST /classify HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",  # huge header
        b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
    ]
    for data in garbage:
        # answered by aiohttp's HTTP parser (400, text/plain), before any route or function
        reply = raw_exchange(keyed.port, data)
        assert reply.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4")), (data[:40], reply[:200])
    assert keyed.stats(AUTH)["invocations"] == before
    assert keyed.post("/classify", {"sentence": "still up ."}, headers=AUTH).status == 200


# --- no unpickling, no eval ------------------------------------------------------------
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def unsafe_calls(source: str, filename: str = "<source>") -> list[str]:
    """Code that could run or unpickle data: pickle-family imports, ``allow_pickle=True``,
    ``np.load`` without ``allow_pickle=False``, ``torch.load`` without ``weights_only=True``,
    builtin ``eval``/``exec``, ``yaml.load``, ``shell=True``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where} imports {n}" for n in names if n.split(".")[0] in UNSAFE_MODULES]
        if isinstance(node, ast.keyword) and node.arg in ("allow_pickle", "shell") \
                and isinstance(node.value, ast.Constant) and node.value.value is True:
            found.append(f"{where} {node.arg}=True")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__"):
            found.append(f"{where} calls {func.id}()")
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            dotted = f"{func.value.id}.{func.attr}"
            if dotted in ("np.load", "numpy.load") and kw.get("allow_pickle") is not False:
                found.append(f"{where} {dotted} without allow_pickle=False")
            if dotted == "torch.load" and kw.get("weights_only") is not True:
                found.append(f"{where} torch.load without weights_only=True")
            if dotted in ("yaml.load", "yaml.unsafe_load"):
                found.append(f"{where} calls {dotted}")
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    bad = """
import pickle
from joblib import load
import numpy as np, torch, yaml, subprocess
np.load(path)
np.load(path, allow_pickle=True)
torch.load(path)
eval(text)
exec(code)
yaml.load(text)
subprocess.run(cmd, shell=True)
model.eval()
np.load(path, allow_pickle=False)
torch.load(path, weights_only=True)
"""
    found = unsafe_calls(bad)
    assert len(found) == 10, found
    assert not any(":13 " in f or ":14 " in f or ":15 " in f for f in found), found


def test_no_unpickling_or_eval_anywhere_in_millicent() -> None:
    files = sorted((REPO / "millicent").rglob("*.py"))
    assert len(files) > 50
    found = [f for path in files for f in unsafe_calls(path.read_text(), str(path.relative_to(REPO)))]
    assert found == []


def test_shipped_artifacts_are_json_and_pickle_free_arrays() -> None:
    dirs = [d for d in (REPO / "millicent" / "artifacts").iterdir() if d.is_dir()]
    assert len(dirs) >= 2
    for d in dirs:
        assert json.loads((d / "manifest.json").read_text())["format_version"] >= 1
        for f in d.iterdir():
            # .onnx: the transformers' graphs (protobuf, parsed as one below)
            assert f.suffix in (".json", ".npz", ".md", ".onnx"), f"unexpected artifact file {f}"
            if f.suffix == ".npz":
                with np.load(f, allow_pickle=False) as z:  # an object array would raise here
                    assert all(z[name].dtype != object for name in z.files)
            if f.suffix == ".onnx":
                onnx = pytest.importorskip("onnx")
                assert onnx.load(str(f), load_external_data=False).graph.node
