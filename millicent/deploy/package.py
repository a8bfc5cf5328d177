"""``build_package``: the AWS Lambda zip — runtime modules, artifacts, pack and wheels.

Layout inside the zip (= ``LAMBDA_TASK_ROOT``, the function's working directory)::

    millicent/...               __init__, base modules, runtime/, store/ (see contents.py)
    numpy/ numpy.libs/ ...      third-party wheels for the target, unpacked without junk
    artifacts/<name>/...        each model's artifact (its learned embedding table stays
                                out: that goes into the store)
    pack/<file>                 the frequent-word pack, if any
    millicent-package.json      what was packed and the environment the function needs

The zip is reproducible: sorted entries, fixed timestamps and permissions, so identical
inputs give identical bytes (and the same content-addressed S3 key on deploy).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import millicent
from millicent import config
from millicent.deploy.contents import PackageError, function_sources, is_junk
from millicent.deploy.sizes import SizeLimits, SizeReport, check_limits
from millicent.deploy.target import HANDLER, LambdaTarget
from millicent.deploy.wheels import (
    DEFAULT_REQUIREMENTS,
    WheelMember,
    fetch_wheels,
    kind_requirements,
    wheel_members,
)
from millicent.errors import ConfigError

PACKAGE_MANIFEST = "millicent-package.json"
PACKAGE_FORMAT = 1
ARTIFACTS_DIR = "artifacts"
PACK_DIR = "pack"
#: Deflate level: 9 saves <1 % over 6 on numpy's shared libraries and takes twice as long.
COMPRESS_LEVEL = 6
_EPOCH = (1980, 1, 1, 0, 0, 0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class PackageSpec:
    """What to put in the function package, and for which Lambda runtime."""

    models: tuple[tuple[str, Path], ...]
    out_dir: Path
    pack: Path | None = None
    target: LambdaTarget = field(default_factory=LambdaTarget)
    wheel_dir: Path | None = None
    requirements: tuple[str, ...] = DEFAULT_REQUIREMENTS
    limits: SizeLimits = field(default_factory=SizeLimits)


@dataclass
class BuiltPackage:
    """The result of :func:`build_package`."""

    zip_path: Path
    dockerfile_path: Path
    report_path: Path
    sha256: str
    sizes: SizeReport
    manifest: dict[str, Any]


@dataclass(frozen=True)
class _Entry:
    arcname: str
    component: str
    size: int
    path: Path | None = None  # a file on disk, or
    member: WheelMember | None = None  # a file inside a wheel


def package_stem(target: LambdaTarget) -> str:
    """File name stem of a package for ``target``: ``millicent-function-py3.12-x86_64``."""
    return f"millicent-function-{target.slug}"


def _artifact_entries(name: str, directory: Path) -> tuple[list[_Entry], dict[str, Any]]:
    from millicent.runtime.artifact import EMBEDDINGS
    from millicent.runtime.registry import load_model

    # Refuse, before anything is zipped, an artifact the function could not rebuild.
    artifact = load_model(directory).artifact
    entries = []
    for f in sorted(directory.rglob("*")):
        rel = f.relative_to(directory).as_posix()
        if not f.is_file() or is_junk(rel) or rel == EMBEDDINGS:
            continue
        entries.append(_Entry(f"{ARTIFACTS_DIR}/{name}/{rel}", f"artifact {name}", f.stat().st_size, f))
    info = {
        "path": f"{ARTIFACTS_DIR}/{name}",
        "kind": artifact.kind,
        "role": artifact.manifest.role,
        "task": artifact.manifest.task,
        "embedding": artifact.manifest.embedding.to_dict(),
        "tokenizer": artifact.manifest.tokenizer.to_dict(),
        "learned_embeddings": (directory / EMBEDDINGS).exists(),
    }
    return entries, info


def _one_table(spec: PackageSpec) -> None:
    """One function, one store and one pack: refuse models that read different vectors
    (the function's INIT would refuse them too, after the upload)."""
    from millicent.runtime.one_table import one_table

    try:
        one_table(dict(spec.models))
    except ConfigError as exc:
        raise PackageError(exc.message) from exc


def _collect(spec: PackageSpec, workdir: Path) -> tuple[list[_Entry], dict[str, Any]]:
    entries: list[_Entry] = []
    for src in function_sources():
        entries.append(_Entry(src.arcname, "millicent runtime", src.path.stat().st_size, src.path))

    if not spec.models:
        raise PackageError("no model given: use --model NAME=ARTIFACT_DIR")
    models: dict[str, Any] = {}
    for name, directory in spec.models:
        if not _NAME.match(name):
            raise PackageError(f"model name {name!r} must be letters, digits, '-' or '_'")
        if name in models:
            raise PackageError(f"model name {name!r} given twice")
        model_entries, models[name] = _artifact_entries(name, Path(directory))
        entries += model_entries
    _one_table(spec)

    env = {config.MODELS: ",".join(f"{n}={m['path']}" for n, m in models.items())}
    pack_arc = None
    if spec.pack is not None:
        pack = Path(spec.pack)
        if not pack.is_file():
            raise PackageError(f"pack file {pack} not found")
        pack_arc = f"{PACK_DIR}/{pack.name}"
        entries.append(_Entry(pack_arc, "pack", pack.stat().st_size, pack))
        env[config.PACK_PATH] = pack_arc

    extra = kind_requirements(sorted({m["kind"] for m in models.values()}), spec.target)
    wheels = fetch_wheels(spec.requirements, spec.target, workdir / "wheels", spec.wheel_dir,
                          alone=extra)
    for wheel in wheels:
        for m in wheel_members(wheel):
            entries.append(_Entry(m.arcname, wheel.label, m.member.file_size, member=m))

    manifest = {
        "format": PACKAGE_FORMAT,
        "millicent_version": millicent.__version__,
        "runtime": spec.target.runtime,
        "python": spec.target.python,
        "arch": spec.target.arch,
        "handler": HANDLER,
        "models": models,
        "pack": pack_arc,
        "wheels": [w.label for w in wheels],
        "environment": env,
    }
    entries.append(_Entry(PACKAGE_MANIFEST, "manifest", 0))
    seen: dict[str, str] = {}
    for e in entries:
        if e.arcname in seen:
            raise PackageError(f"{e.arcname} comes from both {seen[e.arcname]} and {e.component}")
        seen[e.arcname] = e.component
    return sorted(entries, key=lambda e: e.arcname), manifest


def _zipinfo(arcname: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    # Lambda runs the code as another user: everything must be world-readable.
    info.external_attr = (0o100000 | (mode & 0o755) | 0o644) << 16
    info.create_system = 3  # unix, so the permissions above are honoured
    return info


def _write_zip(path: Path, entries: list[_Entry], manifest_bytes: bytes) -> None:
    open_wheels: dict[Path, zipfile.ZipFile] = {}
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=COMPRESS_LEVEL) as zf:
            for e in entries:
                if e.member is not None:
                    wz = open_wheels.get(e.member.wheel.path)
                    if wz is None:
                        wz = open_wheels[e.member.wheel.path] = zipfile.ZipFile(e.member.wheel.path)
                    data = wz.read(e.member.member)
                    mode = (e.member.member.external_attr >> 16) & 0o777
                elif e.path is not None:
                    data = e.path.read_bytes()
                    mode = e.path.stat().st_mode & 0o777
                else:
                    data, mode = manifest_bytes, 0o644
                zf.writestr(_zipinfo(e.arcname, mode), data, compresslevel=COMPRESS_LEVEL)
    finally:
        for wz in open_wheels.values():
            wz.close()


def build_package(spec: PackageSpec) -> BuiltPackage:
    """Build the Lambda zip, its Dockerfile and a JSON size report in ``spec.out_dir``.

    Raises :class:`~millicent.deploy.sizes.PackageTooLarge` (naming the big components)
    if the package is over the limits, and :class:`PackageError` for bad inputs.
    """
    from millicent.deploy.dockerfile import write_dockerfile

    out_dir = Path(spec.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = package_stem(spec.target)
    with tempfile.TemporaryDirectory(prefix="millicent-package-") as tmp:
        entries, manifest = _collect(spec, Path(tmp))
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        sizes = SizeReport()
        for e in entries:
            sizes.add(e.component, len(manifest_bytes) if e.member is None and e.path is None else e.size)
        check_limits(sizes, spec.limits, zipped_known=False)  # before spending time on zipping

        partial = out_dir / f".{stem}.zip.partial"
        try:
            _write_zip(partial, entries, manifest_bytes)
            component = {e.arcname: e.component for e in entries}
            zipped = SizeReport()
            with zipfile.ZipFile(partial) as zf:
                for info in zf.infolist():
                    zipped.add(component[info.filename], info.file_size, info.compress_size)
            zipped.zip_bytes = partial.stat().st_size
            check_limits(zipped, spec.limits)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        zip_path = out_dir / f"{stem}.zip"
        partial.replace(zip_path)

    sha256 = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    dockerfile_path = write_dockerfile(out_dir / f"{stem}.Dockerfile", zip_path.name, spec.target, manifest)
    report_path = out_dir / f"{stem}.json"
    report_path.write_text(json.dumps(
        {"zip": zip_path.name, "sha256": sha256, "manifest": manifest, "sizes": zipped.to_dict()},
        indent=2) + "\n")
    return BuiltPackage(zip_path, dockerfile_path, report_path, sha256, zipped, manifest)


def read_package_manifest(zip_path: str | Path) -> dict[str, Any]:
    """The ``millicent-package.json`` of a built zip (PackageError if it is not one)."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            manifest: dict[str, Any] = json.loads(zf.read(PACKAGE_MANIFEST))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise PackageError(f"{zip_path} is not a millicent function package: {exc}") from exc
    if manifest.get("format") != PACKAGE_FORMAT:
        raise PackageError(f"{zip_path}: unknown package format {manifest.get('format')!r}")
    return manifest


def package_sha256(zip_path: str | Path, target: LambdaTarget) -> str:
    """The zip's SHA-256, after checking it is built for ``target``'s runtime and
    architecture (ConfigError naming the flags that would match it)."""
    manifest = read_package_manifest(zip_path)
    built = (f"python{manifest['python']}", str(manifest["arch"]))
    if built != (target.runtime, target.arch):
        raise ConfigError(f"--package {zip_path} is built for {built[0]} {built[1]}: pass "
                          f"--python {manifest['python']} --arch {manifest['arch']}")
    return hashlib.sha256(Path(zip_path).read_bytes()).hexdigest()
