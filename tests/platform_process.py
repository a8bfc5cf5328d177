"""Start ``millicent serve`` as a real process on a free loopback port, and talk HTTP to it.

Used by the platform's integration tests and by ``benchmarks/platform_overhead.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import REPO, free_port, wait_listening


@dataclass
class Reply:
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
        assert reply.status == 200, reply.body
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)


def start_platform(args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> PlatformProcess:
    """``python -m millicent.cli.main serve ARGS --port P --log-dir LOG_DIR`` from the repo root."""
    port = free_port()
    cmd = [sys.executable, "-m", "millicent.cli.main", "serve", *args,
           "--port", str(port), "--log-dir", str(log_dir)]
    full_env = {**os.environ, **(env or {})}
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr = open(log_dir / "serve.stderr", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=stderr, stderr=stderr)
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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
