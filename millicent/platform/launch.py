"""How an execution environment's process starts: its configuration (:class:`Launch`), the
environment variables Lambda gives a function's process, and the process handle the
environment holds.

Two ways to start one (both end in the unmodified ``awslambdaric`` loop):

* spawn ``python -m awslambdaric HANDLER`` (:func:`spawn`): the INIT phase runs in the new
  process — Lambda's on-demand cold start;
* fork the function's snapshot template (:mod:`.snapshot`): INIT ran once, before the
  platform listened; the child only restores — Lambda's SnapStart.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

#: ``AWS_LAMBDA_INITIALIZATION_TYPE`` values (Lambda's): on-demand, or a SnapStart restore.
ON_DEMAND = "on-demand"
SNAP_START = "snap-start"


@dataclass(frozen=True)
class Launch:
    """How to start the process of an environment."""

    handler: str
    function: str
    memory_mb: int
    timeout_s: float
    environment: Mapping[str, str]
    region: str = "us-east-1"
    python: str = sys.executable
    cwd: str | None = None
    #: inherited variables holding one of these values are not passed on (secrets)
    withheld_values: frozenset[str] = frozenset()


class ProcessHandle(Protocol):
    """What an environment needs of its process (an ``asyncio.subprocess.Process`` is one)."""

    @property
    def pid(self) -> int: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    async def wait(self) -> int | None:
        """Wait for the process to end; its return code (negative: killed by that signal),
        or None when it could not be known."""
        ...

    def kill(self) -> None:
        """SIGKILL the process (ProcessLookupError when it is gone)."""
        ...


def log_stream(env_id: str) -> str:
    """Lambda's log stream name of an environment (``2026/12/01/[$LATEST]kim-1``)."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{env_id}"


def lambda_environment(launch: Launch, env_id: str, runtime_api: str | None,
                       initialization_type: str = ON_DEMAND) -> dict[str, str]:
    """The process environment: the platform's own, minus millicent/Lambda settings and
    withheld (secret) values, plus Lambda's reserved variables and the function's
    configuration. ``runtime_api`` None: a snapshot template (each restored child gets
    its own ``AWS_LAMBDA_RUNTIME_API`` and log stream)."""
    fn = launch.function
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MILLICENT_", "AWS_LAMBDA_", "_HANDLER", "LAMBDA_"))
        and v not in launch.withheld_values
    }
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": fn,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(launch.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream(env_id),
            "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
            "AWS_REGION": launch.region,
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", launch.region),
            "_HANDLER": launch.handler,
            "LAMBDA_TASK_ROOT": launch.cwd or os.getcwd(),
            "TZ": ":UTC",
        }
    )
    if runtime_api is not None:
        env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    env.update(launch.environment)
    return env


async def spawn(launch: Launch, env_id: str, runtime_api: str) -> ProcessHandle:
    """Start ``python -m awslambdaric HANDLER`` against ``runtime_api`` (on-demand INIT)."""
    proc = await asyncio.create_subprocess_exec(
        launch.python, "-m", "awslambdaric", launch.handler,
        env=lambda_environment(launch, env_id, runtime_api),
        cwd=launch.cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # own process group: the platform's Ctrl-C does not reach it, and a kill takes
        # down anything the handler spawned
        start_new_session=True,
    )
    return proc
