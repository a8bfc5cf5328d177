"""The container-image variant: a Dockerfile that installs exactly the zip's files.

The image is built from the zip itself (unpacked in a first stage, copied into
``LAMBDA_TASK_ROOT`` in the second) so the two variants cannot drift apart. No Docker
engine runs in millicent's tests; they check this file's instructions instead.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from millicent.deploy.target import HANDLER, LambdaTarget

_SAFE_ENV = re.compile(r"^[A-Za-z0-9_./=,:-]*$")


def render_dockerfile(zip_name: str, target: LambdaTarget, manifest: dict[str, Any],
                      dockerfile_name: str = "Dockerfile") -> str:
    """The Dockerfile text for the package ``zip_name`` built for ``target``."""
    env = manifest.get("environment", {})
    lines = []
    for key, value in sorted(env.items()):
        if not _SAFE_ENV.match(value):  # artifact names are checked; paths are ours
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"ENV {key}={value}")
    text = resources.files("millicent.deploy").joinpath("Dockerfile").read_text(encoding="utf-8")
    return Template(text).substitute(
        zip=zip_name,
        dockerfile=dockerfile_name,
        runtime=target.runtime,
        arch=target.arch,
        platform=target.docker_platform,
        base_image=target.base_image,
        env="\n".join(lines),
        handler=manifest.get("handler", HANDLER),
    )


def write_dockerfile(path: Path, zip_name: str, target: LambdaTarget, manifest: dict[str, Any]) -> Path:
    """Write :func:`render_dockerfile` next to the zip; returns ``path``."""
    path.write_text(render_dockerfile(zip_name, target, manifest, path.name), encoding="utf-8")
    return path
