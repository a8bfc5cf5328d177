"""Run a built function package on the local serverless platform (cold starts included).

The zip is unpacked into a task root and served by :class:`millicent.platform.Platform`
exactly as the platform serves the repository's code: awslambdaric in a fresh process per
execution environment, its working directory the task root — which, as on Lambda, comes
first on ``sys.path``, so the zip's millicent and numpy are the ones imported.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.deploy.package import read_package_manifest


@dataclass
class LocalInvocation:
    """One invocation's answer and its platform REPORT figures."""

    answer: dict[str, Any]
    cold: bool
    init_ms: float | None
    duration_ms: float
    max_memory_mb: float | None


def unpack(zip_path: str | Path, task_root: str | Path) -> Path:
    """Extract the package into ``task_root`` (Lambda's ``/var/task``)."""
    root = Path(task_root)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root)
    return root


async def _run(task_root: Path, manifest: dict[str, Any], environment: dict[str, str],
               calls: list[tuple[str, dict[str, Any]]], memory_mb: int, cold_each: bool) -> list[LocalInvocation]:
    from millicent.platform.functions import FunctionSpec, PlatformSettings
    from millicent.platform.platform import Platform

    env = {**manifest["environment"], **environment}
    names = list(manifest["models"])
    out: list[LocalInvocation] = []
    settings = PlatformSettings(task_root=str(task_root), max_concurrency=4)
    platform: Platform | None = None
    try:
        for i, (name, payload) in enumerate(calls):
            if platform is None or cold_each:
                if platform is not None:
                    await platform.stop()
                specs = [FunctionSpec(name=n, memory_mb=memory_mb, environment=env,
                                      handler=manifest["handler"]) for n in names]
                platform = Platform(specs, settings)
                await platform.start()
            result = await platform.invoke(name, json.dumps(payload).encode())
            if result.function_error:
                raise RuntimeError(f"call {i} to {name} failed: {result.payload[:500]!r}")
            r = result.record
            out.append(LocalInvocation(json.loads(result.payload), r.cold, r.init_ms,
                                       r.duration_ms, r.max_memory_mb))
    finally:
        if platform is not None:
            await platform.stop()
    return out


def run_local(zip_path: str | Path, task_root: str | Path, environment: dict[str, str],
              calls: list[tuple[str, dict[str, Any]]], memory_mb: int = 1024,
              cold_each: bool = False) -> list[LocalInvocation]:
    """Unpack ``zip_path`` and invoke its functions (one per model) with direct payloads.

    ``environment`` adds e.g. ``MILLICENT_STORE_URL``; ``cold_each`` starts a fresh
    platform (hence a cold environment) for every call.
    """
    manifest = read_package_manifest(zip_path)
    root = unpack(zip_path, task_root)
    return asyncio.run(_run(root, manifest, environment, calls, memory_mb, cold_each))
