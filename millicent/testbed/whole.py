"""The whole model ``bench --compare``'s ``whole`` configuration serves, made once per run
directory and reused.

A user compares an artifact, so the whole model must be *that* model with its table put
back: by default it is exported (:func:`millicent.importer.hf.whole.export_whole`, torch
in the testbed, never in the function) from the directory the artifact was imported from
(``training.imported_from``), for the artifact's role, at its precision and with its int8
configuration. The export must be of the same files the artifact recorded (their sha256 in
``training.files``): a source directory changed since the import is refused, naming the
files, rather than compared. ``--whole-model DIR`` gives an export of one's own instead
(checked the same way where it records its files, and for role, width and precision).
A rerun finds ``DIR/deploy/whole-<precision>-<digest>/`` holding an export of the same
files and configuration and reuses it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from millicent.errors import ArtifactError, ConfigError
from millicent.runtime.artifact import Manifest, read_manifest
from millicent.runtime.transformer_section import SECTION


@dataclass(frozen=True)
class WholeStatus:
    """What :func:`ensure_whole` found and did."""

    path: str
    precision: str
    int8_config: str | None
    exported_from: str | None  #: the source directory (None: given by the user)
    reused: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _wanted(manifest: Manifest, where: Path) -> tuple[str, str | None]:
    """The artifact's precision and int8 configuration (the whole model must match them)."""
    if manifest.kind != "transformer":
        raise ConfigError(f"the whole configuration compares a transformer (millicent import "
                          f"hf); {where} is a {manifest.kind!r} artifact")
    section = manifest.sections.get(SECTION) or {}
    precision = str(section.get("precision", "fp32"))
    config = (section.get("quantization") or {}).get("config") if precision == "int8" else None
    return precision, config


def check_whole(description: dict[str, Any], manifest: Manifest, artifact: Path,
                directory: Path) -> None:
    """ConfigError unless the whole model of ``directory`` is the artifact's network:
    role, width, precision and int8 configuration, and (where it records them) the same
    source files."""
    precision, config = _wanted(manifest, artifact)
    theirs = (description.get("role"), description.get("hidden_size"),
              description.get("precision"), description.get("int8_config"))
    ours = (manifest.role, manifest.embedding.dim, precision, config)
    if theirs != ours:
        raise ConfigError(f"{directory} is not {artifact}'s network with its table inside: role, "
                          f"width, precision, int8 configuration {list(theirs)} vs {list(ours)}")
    recorded = manifest.training.get("files") or {}
    files = description.get("files") or {}
    differ = sorted(k for k in recorded.keys() & files.keys() if recorded[k] != files[k])
    if differ:
        raise ConfigError(f"{directory} was exported from other files than {artifact} was "
                          f"imported from ({', '.join(differ)} differ)")


def ensure_whole(artifact: Path, work_dir: Path, given: Path | None = None,
                 log: IO[str] | None = None) -> WholeStatus:
    """The whole model of ``artifact``: ``given`` (checked), else the export in ``work_dir``
    (made now from the artifact's source directory, or reused)."""
    from millicent.baselines.whole_engine import read_description

    t0 = time.monotonic()
    manifest = read_manifest(artifact)
    precision, config = _wanted(manifest, artifact)
    if given is not None:
        try:
            check_whole(read_description(given), manifest, artifact, given)
        except ArtifactError as exc:
            raise ConfigError(f"--whole-model: {exc}") from exc
        return WholeStatus(str(given), precision, config, None, True, time.monotonic() - t0)
    digest = str((manifest.training.get("files") or {}).get("model.safetensors", "unknown"))
    target = work_dir / f"whole-{manifest.role}-{precision}{'-' + config if config else ''}-{digest[:12]}"
    target = target.with_name(target.name.replace(" ", "").replace(",", "-"))
    source = manifest.training.get("imported_from")
    if (target / "whole.json").is_file():
        try:
            check_whole(read_description(target), manifest, artifact, target)
            return WholeStatus(str(target), precision, config, source, True,
                               time.monotonic() - t0)
        except (ArtifactError, ConfigError):
            shutil.rmtree(target)  # another export (or a broken one): made again below
    return _export(artifact, manifest, target, (precision, config), log, t0)


def _export(artifact: Path, manifest: Manifest, target: Path, wanted: tuple[str, str | None],
            log: IO[str] | None, t0: float) -> WholeStatus:
    """Export the whole model of the artifact's source directory into ``target``."""
    from millicent.importer.hf.whole import export_whole

    source = manifest.training.get("imported_from")
    if not source or not Path(source).is_dir():
        raise ConfigError(f"{artifact} was imported from {source!r}, which is not a directory "
                          "here: give the whole model with --whole-model DIR (export_whole)")
    precision, config = wanted
    if log is not None:
        print(f"whole: exporting {source} ({manifest.role}, {precision}"
              f"{', ' + config if config else ''}) with its table inside → {target}",
              file=log, flush=True)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    whole = export_whole(source, manifest.role, staging,
                         quantize="int8" if precision == "int8" else None, config=config)
    try:
        check_whole(whole.description, manifest, artifact, staging)
    except ConfigError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"{exc}: {source} changed since the import; give the whole model "
                          "with --whole-model DIR") from exc
    staging.rename(target)
    return WholeStatus(str(target), precision, config, str(source), False, time.monotonic() - t0)
