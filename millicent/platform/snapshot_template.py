"""The snapshot template: one process per function of ``millicent serve --snapshot``, which
runs the function's INIT once and then forks a restored execution environment per cold start.

Run by the platform (:mod:`.snapshot`) as ``python -m millicent.platform.snapshot_template
HANDLER`` with Lambda's environment (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``) and a
``SOCK_SEQPACKET`` socket to the platform (its descriptor in ``$_MILLICENT_SNAPSHOT_FD``):

1. **INIT**, as ``awslambdaric``'s ``bootstrap.run`` does it: its ``_get_handler`` imports
   the handler module (a millicent function builds its models and store there), and a
   failure becomes the error ``awslambdaric`` would post to ``/runtime/init/error`` (its
   ``make_error`` / ``build_fault_result``) — sent to the platform, which answers cold
   starts with it; then the template exits.
2. **Before snapshot**: ``awslambdaric``'s hooks runner runs (and empties) the
   ``snapshot_restore_py`` before-snapshot hooks — network connections closed, so no two
   restored copies share one.
3. **Restore** on each ``fork`` command (which carries the child's stdout pipe): ``os.fork``;
   the child starts its own session, takes the pipe as stdout/stderr and its own
   ``AWS_LAMBDA_RUNTIME_API`` and log stream, and becomes an execution environment running
   the unmodified ``awslambdaric`` entry point (``awslambdaric.__main__.main``): the handler
   module is already imported (no second INIT); with ``snap-start`` the client asks
   ``/restore/next``, runs the after-restore hooks (reopen connections, reseed) and then
   polls ``/next``. The template sends the child's pid and a pidfd, and, when the child
   ends, its exit status (it is the child's parent and reaps it).

awslambdaric's C client (``runtime_client``) reads ``AWS_LAMBDA_RUNTIME_API`` once, in a
static initializer, when the extension is loaded — so the template must not load it: with
``sys.modules["runtime_client"] = None`` awslambdaric's ``import runtime_client`` falls
back as it does where the extension is missing, and each child reloads
``awslambdaric.lambda_runtime_client`` after setting its own address, which loads the
extension and initializes it exactly as the module's import does (≈ 3 ms).

The template must stay single-threaded (``fork`` copies only the calling thread); it
warns if INIT left threads running. Nothing here imports the platform's tooling.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

FD_VAR = "_MILLICENT_SNAPSHOT_FD"
MAX_MESSAGE = 1 << 16
#: exit status of a child whose set-up failed before awslambdaric ran
CHILD_SETUP_FAILED = 70


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One JSON message (one SEQPACKET record), with file descriptors attached."""
    socket.send_fds(sock, [json.dumps(message).encode()], fds or [])


def receive(sock: socket.socket, max_fds: int = 2) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message and the descriptors it carried; ``(None, [])`` at end of stream."""
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, max_fds)
    if not data:
        return None, list(fds)
    return json.loads(data), list(fds)


def run_init(handler: str) -> dict[str, Any] | None:
    """Import the handler as awslambdaric's bootstrap does; the init error it would post."""
    sys.modules["runtime_client"] = None  # type: ignore[assignment]  # see the module docstring
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_exception import FaultException

    try:
        bootstrap._get_handler(handler)
    except FaultException as exc:
        return dict(bootstrap.make_error(exc.msg, exc.exception_type, exc.trace))
    except Exception:
        return dict(bootstrap.build_fault_result(sys.exc_info(), None))
    return None


def before_snapshot() -> dict[str, Any] | None:
    """The before-snapshot hooks, as awslambdaric runs them; the init error on a failure."""
    from awslambdaric import bootstrap, lambda_runtime_hooks_runner
    from awslambdaric.lambda_runtime_exception import FaultException

    try:
        lambda_runtime_hooks_runner.run_before_snapshot()
    except Exception:
        error = dict(bootstrap.build_fault_result(sys.exc_info(), None))
        error["errorType"] = FaultException.BEFORE_SNAPSHOT_ERROR
        return error
    _preload_client()
    return None


def _preload_client() -> None:
    """The rest of the runtime client, imported once here rather than in every child: its
    entry point, and what it imports lazily on its way to the first ``/next`` (``http.client``
    for ``/restore/next``, ≈ 30 ms in each child otherwise; the thread pool it polls with
    on python3.12+)."""
    import concurrent.futures  # noqa: F401
    import http.client  # noqa: F401

    import awslambdaric.__main__  # noqa: F401


def become_environment(handler: str, environment: dict[str, str], out_fd: int) -> int:
    """In the forked child: set up the process and run the unmodified runtime client loop."""
    os.setsid()
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    os.environ.update(environment)
    sys.modules.pop("runtime_client", None)
    import awslambdaric.lambda_runtime_client as client_module

    importlib.reload(client_module)  # loads runtime_client with this child's address
    from awslambdaric import __main__ as ric

    ric.main(["awslambdaric", handler])
    return 0  # the client's loop never returns


def fork_environment(handler: str, command: dict[str, Any], out_fd: int,
                     close_in_child: Callable[[], None]) -> int:
    """Fork one restored environment; returns its pid (in the template). The child never
    returns: it runs the client loop and leaves with ``os._exit``."""
    _flush_stdio()
    pid = os.fork()
    if pid:
        os.close(out_fd)
        return pid
    code = CHILD_SETUP_FAILED
    try:
        close_in_child()  # the template's socket, selector and the other children's pidfds
        code = become_environment(handler, dict(command.get("env") or {}), out_fd)
    except SystemExit as exc:  # awslambdaric exits on init/restore errors
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        _flush_stdio()
        os._exit(code)


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def serve(sock: socket.socket, handler: str) -> None:
    """Fork on every command, report every child's end, until the platform hangs up."""
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, None)
    children: dict[int, int] = {}  # pidfd → pid
    while True:
        for key, _ in sel.select():
            if key.data is not None:  # a child ended: reap it, report its status
                pid = children.pop(int(key.fd))
                sel.unregister(key.fd)
                os.close(int(key.fd))
                _, status = os.waitpid(pid, 0)
                send(sock, {"op": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
                continue
            command, fds = receive(sock)
            if command is None:  # the platform is gone
                return
            if command.get("op") != "fork" or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                send(sock, {"op": "error", "id": command.get("id"),
                            "message": f"unknown command {command.get('op')!r}"})
                continue

            def close_in_child() -> None:
                sel.close()
                sock.close()
                for fd in children:
                    os.close(fd)

            pid = fork_environment(handler, command, fds[0], close_in_child)
            pidfd = os.pidfd_open(pid)
            children[pidfd] = pid
            sel.register(pidfd, selectors.EVENT_READ, pid)
            send(sock, {"op": "forked", "id": command.get("id"), "pid": pid}, [pidfd])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m millicent.platform.snapshot_template HANDLER", file=sys.stderr)
        return 2
    handler = argv[1]
    sock = socket.socket(fileno=int(os.environ.pop(FD_VAR)))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    t0 = time.perf_counter()
    error = run_init(handler) or before_snapshot()
    init_ms = (time.perf_counter() - t0) * 1000.0
    if error is not None:
        from awslambdaric import bootstrap

        bootstrap.log_error(error, bootstrap.StandardLogSink())  # as the client logs it
        send(sock, {"op": "init_error", "error": error, "init_ms": init_ms})
        return 1
    if threading.active_count() > 1:
        print(f"warning: INIT left {threading.active_count() - 1} thread(s) running; a forked "
              "environment gets only the main thread", file=sys.stderr, flush=True)
    send(sock, {"op": "ready", "init_ms": init_ms, "pid": os.getpid()})
    serve(sock, handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
