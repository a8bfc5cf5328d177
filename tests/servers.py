"""Start and stop the real servers the integration tests use (dynalite, redis-server).

Both bind 127.0.0.1 on a free port and are killed afterwards. Used by ``conftest.py`` and
by the scripts under ``benchmarks/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
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
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def dynalite_bin() -> str | None:
    """Path of the dynalite launcher: ``$MILLICENT_DYNALITE``, else ``.cache/node``."""
    env = os.environ.get("MILLICENT_DYNALITE")
    if env and Path(env).exists():
        return env
    local = REPO / ".cache" / "node" / "node_modules" / ".bin" / "dynalite"
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
