"""Third-party wheels for the target Lambda runtime: fetched with pip, unpacked without junk.

Both ways of getting them go through ``pip download`` so that pip — not millicent — does
the dependency resolution and the wheel-tag matching for the *target* platform:

* online: ``pip download --only-binary=:all: --platform <every manylinux tag the target's
  glibc loads> --python-version X.Y --implementation cp``;
* offline: the same plus ``--no-index --find-links WHEEL_DIR`` (what the tests use: no
  test downloads anything).

boto3 is part of the Lambda Python runtime and is never bundled.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from millicent.deploy.contents import PackageError, is_junk
from millicent.deploy.target import LambdaTarget

#: What the runtime needs beyond the standard library (boto3 comes with Lambda).
DEFAULT_REQUIREMENTS = ("numpy>=1.26",)
#: What a model kind adds, installed *without* its declared dependencies: importing
#: onnxruntime and running a session needs only numpy (its flatbuffers, packaging,
#: protobuf and sympy serve the tools the package leaves out; the fidelity test runs the
#: zip alone). 1.19 is the first onnxruntime built for numpy 2. A ``transformer`` also
#: needs ``tokenizers`` (one abi3 wheel per architecture; its declared huggingface-hub
#: serves ``from_pretrained`` downloads, which the function never makes: the ``hf``
#: tokenizer reads the artifact's ``tokenizer.json``).
KIND_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnxruntime>=1.19",),
    "transformer": ("onnxruntime>=1.19", "tokenizers>=0.20"),
}
#: the kinds whose graphs onnxruntime runs (its numpy-2 wheels need glibc 2.28)
ONNXRUNTIME_KINDS = frozenset({"onnx", "transformer"})
#: the oldest glibc that onnxruntime >= 1.19's manylinux_2_28 wheels load on
ONNXRUNTIME_GLIBC = (2, 28)
#: Provided by the Lambda Python runtime: bundling them only adds size.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3",
                                "python-dateutil", "six"})


@dataclass(frozen=True)
class Wheel:
    """A downloaded wheel file and the distribution it holds."""

    path: Path
    name: str
    version: str

    @classmethod
    def from_path(cls, path: Path) -> Wheel:
        parts = path.name[: -len(".whl")].split("-")
        if not path.name.endswith(".whl") or len(parts) < 5:
            raise PackageError(f"{path.name} is not a wheel file name")
        return cls(path=path, name=parts[0], version=parts[1])

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def kind_requirements(kinds: Sequence[str], target: LambdaTarget) -> tuple[str, ...]:
    """What the artifacts' kinds add to the package (see :data:`KIND_REQUIREMENTS`);
    PackageError when the target cannot load it."""
    onnx_kinds = sorted(ONNXRUNTIME_KINDS.intersection(kinds))
    if onnx_kinds and target.glibc < ONNXRUNTIME_GLIBC:
        need = ".".join(str(n) for n in ONNXRUNTIME_GLIBC)
        raise PackageError(
            f"an {' or '.join(onnx_kinds)} model needs onnxruntime, whose builds for numpy 2 "
            f"(>= 1.19) are manylinux_{need.replace('.', '_')} wheels: they need glibc {need}, "
            f"and Lambda {target.runtime} runs on {target.os_name} (glibc "
            f"{target.glibc[0]}.{target.glibc[1]}); package these models with --python 3.12 "
            "or later")
    return tuple(dict.fromkeys(r for k in kinds for r in KIND_REQUIREMENTS.get(k, ())))


def pip_download_command(
    requirements: Sequence[str],
    target: LambdaTarget,
    dest: Path,
    wheel_dir: Path | None = None,
    no_deps: bool = False,
) -> list[str]:
    """The ``pip download`` command line that fetches ``requirements`` for ``target``
    (``no_deps``: those wheels alone, not what they declare they depend on)."""
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
           "--only-binary=:all:", "--implementation", "cp",
           "--python-version", target.python, "--abi", target.python_tag,
           "--abi", "abi3", "--abi", "none", "--dest", str(dest)]
    for platform in target.pip_platforms():
        cmd += ["--platform", platform]
    if wheel_dir is not None:
        cmd += ["--no-index", "--find-links", str(wheel_dir)]
    if no_deps:
        cmd.append("--no-deps")
    return [*cmd, *requirements]


def fetch_wheels(
    requirements: Sequence[str],
    target: LambdaTarget,
    dest: Path,
    wheel_dir: Path | None = None,
    alone: Sequence[str] = (),
) -> list[Wheel]:
    """Put the wheels of ``requirements`` (and their dependencies) and of ``alone``
    (without theirs) for ``target`` in ``dest``.

    With ``wheel_dir`` nothing is downloaded: the wheels must be in that directory.
    """
    if wheel_dir is not None and not Path(wheel_dir).is_dir():
        raise PackageError(f"wheel directory {wheel_dir} does not exist")
    dest.mkdir(parents=True, exist_ok=True)
    _pip_download(requirements, target, dest, wheel_dir, no_deps=False)
    if alone:
        _pip_download(alone, target, dest, wheel_dir, no_deps=True)
    wheels = [Wheel.from_path(p) for p in sorted(dest.glob("*.whl"))]
    if not wheels:
        raise PackageError(f"pip downloaded no wheels for {', '.join(requirements)}")
    return [w for w in wheels if _normalise(w.name) not in PROVIDED_BY_LAMBDA]


def _pip_download(requirements: Sequence[str], target: LambdaTarget, dest: Path,
                  wheel_dir: Path | None, no_deps: bool) -> None:
    cmd = pip_download_command(requirements, target, dest, wheel_dir, no_deps=no_deps)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        where = f"in {wheel_dir}" if wheel_dir is not None else "on the package index"
        raise PackageError(
            f"no wheels {where} for {', '.join(requirements)} on Lambda {target.runtime} "
            f"{target.arch} ({target.os_name}, glibc {target.glibc[0]}.{target.glibc[1]}, "
            f"manylinux tags up to {target.pip_platforms()[0]}):\n{tail}"
        )


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


@dataclass(frozen=True)
class WheelMember:
    """One file of a wheel that goes into the function, under its name inside the zip."""

    wheel: Wheel
    member: zipfile.ZipInfo
    arcname: str


def wheel_members(wheel: Wheel) -> Iterator[WheelMember]:
    """The files of ``wheel`` as installed into the function root, junk left out.

    ``*.data/purelib`` and ``*.data/platlib`` are installed at the root like pip does;
    scripts, headers and data files are not needed by an importer and are dropped, as is
    the ``RECORD`` file, which would list the dropped files.
    """
    with zipfile.ZipFile(wheel.path) as zf:
        infos = zf.infolist()
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        parts = PurePosixPath(name).parts
        if parts[0].endswith(".data"):
            if len(parts) < 3 or parts[1] not in {"purelib", "platlib"}:
                continue
            name = "/".join(parts[2:])
        elif parts[0].endswith(".dist-info") and parts[-1] in {"RECORD", "INSTALLER", "REQUESTED"}:
            continue
        if is_junk(name):
            continue
        yield WheelMember(wheel=wheel, member=info, arcname=name)
