"""Servers a benchmark or a test starts on 127.0.0.1 and stops afterwards: dynalite,
redis-server, a ``millicent serve`` process, and the free ports and waits they need.

Shared by the benchmark scripts (``experiments/``), the compare harness and the tests, so
each piece exists once. Tooling: nothing here ships in the function.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the source checkout this package runs from (dynalite's default place; serve's cwd)
CHECKOUT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Return once 127.0.0.1:``port`` accepts connections; RuntimeError if ``proc`` exits
    first or nothing listens within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Server:
    """A server process listening on a loopback port."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc, grace_s=5.0)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM (a platform then stops its execution environments), SIGKILL if it lingers
    past ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def dynalite_bin() -> str | None:
    """Path of the dynalite launcher: ``$MILLICENT_DYNALITE``, else the checkout's
    ``.cache/node`` (where ``scripts/install-deps`` puts it)."""
    env = os.environ.get("MILLICENT_DYNALITE")
    if env and Path(env).exists():
        return env
    local = CHECKOUT / ".cache" / "node" / "node_modules" / ".bin" / "dynalite"
    return str(local) if local.exists() else None


def start_dynalite(port: int | None = None, path: str | None = None) -> Server:
    """Start dynalite (in memory unless ``path``) on 127.0.0.1."""
    binary = dynalite_bin()
    if binary is None:
        raise FileNotFoundError("dynalite not installed (scripts/test installs it with npm)")
    port = port or free_port()
    cmd = ["node", binary, "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0",
           "--deleteTableMs", "0", "--updateTableMs", "0"]
    if path:
        cmd += ["--path", path]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return Server(proc, port)


def start_redis(port: int | None = None) -> Server:
    """Start Debian's redis-server on 127.0.0.1 with persistence off."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server not installed (scripts/test installs it with apt)")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port, proc)
    return Server(proc, port)

@dataclass
class Reply:
    """An HTTP answer: status, lower-cased headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class PlatformProcess:
    """A running ``millicent serve``; ``log_dir`` holds invocations.jsonl and functions.log."""

    proc: subprocess.Popen[bytes]
    port: int
    log_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60.0) -> Reply:
        """One HTTP request on a fresh connection (raw bytes, no client-side content type)."""
        data = json.dumps(body).encode() if isinstance(body, dict) else (
            body.encode() if isinstance(body, str) else body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def stats(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        reply = self.request("GET", "/_millicent/stats", headers=headers)
        if reply.status != 200:
            raise RuntimeError(f"stats answered {reply.status}: {reply.body[:200]!r}")
        return dict(reply.json())

    def env_pids(self, function: str | None = None) -> list[int]:
        return [e["pid"] for e in self.stats()["environment_details"]
                if function is None or e["function"] == function]

    def records(self) -> list[dict[str, Any]]:
        path = self.log_dir / "invocations.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> int:
        """SIGTERM (the platform kills its environments) and wait; returns the exit status."""
        stop_process(self.proc, grace_s=15.0)
        return int(self.proc.returncode)


def start_platform(args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> PlatformProcess:
    """``python -m millicent.cli.main serve ARGS --port P --log-dir LOG_DIR`` from the repo root."""
    port = free_port()
    cmd = [sys.executable, "-m", "millicent.cli.main", "serve", *args,
           "--port", str(port), "--log-dir", str(log_dir)]
    full_env = {**os.environ, **(env or {})}
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr = open(log_dir / "serve.stderr", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(cmd, cwd=CHECKOUT, env=full_env, stdout=stderr, stderr=stderr)
    try:
        wait_listening(port, proc, timeout=30.0)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise RuntimeError((log_dir / "serve.stderr").read_text()) from None
    return PlatformProcess(proc, port, log_dir)


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
