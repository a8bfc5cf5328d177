"""``build_package`` with real wheels from the local wheel directory (no download)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.deploy.contents import PackageError, function_sources, is_junk
from millicent.deploy.package import (
    PACKAGE_MANIFEST,
    PackageSpec,
    build_package,
    read_package_manifest,
)
from millicent.deploy.sizes import PackageTooLarge, SizeLimits
from millicent.deploy.target import HANDLER, LambdaTarget
from tests.deploy_support import tiny_artifact, wheel_dir

PY311 = LambdaTarget("3.11", "x86_64")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    kim = tiny_artifact(tmp / "art" / "kim", learned_table=True)
    sm = tiny_artifact(tmp / "art" / "sm")
    (sm / "__pycache__").mkdir()
    (sm / "__pycache__" / "junk.pyc").write_bytes(b"junk")
    pack = tmp / "words.pack"
    pack.write_bytes(b"\0" * 5000)
    spec = PackageSpec(models=(("kim", kim), ("sm", sm)), out_dir=tmp / "dist", pack=pack,
                       target=PY311, wheel_dir=wheel_dir("cp311"))
    return spec, build_package(spec)


def test_zip_holds_runtime_artifacts_pack_and_numpy_only(built):
    _spec, b = built
    names = zipfile.ZipFile(b.zip_path).namelist()
    ours = sorted(n for n in names if n.startswith("millicent/"))
    assert ours == [s.arcname for s in function_sources()]
    assert "millicent/runtime/handler.py" in ours
    assert not any(n.startswith(("millicent/cli/", "millicent/deploy/", "millicent/data/")) for n in names)
    assert "numpy/__init__.py" in names and any(n.startswith("numpy.libs/") for n in names)
    assert not any(n.startswith(("boto3/", "botocore/")) for n in names)  # provided by Lambda
    assert not any(is_junk(n) or "/tests/" in n or n.endswith((".pyc", ".pyi")) for n in names)
    assert {"artifacts/kim/manifest.json", "artifacts/kim/weights.npz", "artifacts/sm/weights.npz",
            "pack/words.pack", PACKAGE_MANIFEST} <= set(names)
    assert "artifacts/kim/embeddings.npz" not in names  # the learned table goes into the store
    assert not any(n.endswith(("RECORD", "/")) for n in names)


def test_manifest_and_environment(built):
    _, b = built
    m = read_package_manifest(b.zip_path)
    assert m == b.manifest
    assert (m["python"], m["arch"], m["runtime"], m["handler"]) == ("3.11", "x86_64", "python3.11", HANDLER)
    assert m["environment"] == {"MILLICENT_MODELS": "kim=artifacts/kim,sm=artifacts/sm",
                                "MILLICENT_PACK": "pack/words.pack"}
    assert m["models"]["kim"]["learned_embeddings"] is True
    assert m["wheels"][0].startswith("numpy 2.2.")  # the newest numpy with manylinux2014 cp311 wheels


def test_size_report_matches_the_zip(built):
    _, b = built
    zf = zipfile.ZipFile(b.zip_path)
    assert b.sizes.unzipped == sum(i.file_size for i in zf.infolist())
    assert b.sizes.zipped == b.zip_path.stat().st_size
    numpy_c = next(c for name, c in b.sizes.components.items() if name.startswith("numpy"))
    assert numpy_c.unzipped > 30 * 2**20 and numpy_c.zipped < numpy_c.unzipped
    assert b.sizes.components["pack"].unzipped == 5000
    report = json.loads(b.report_path.read_text())
    assert report["sha256"] == b.sha256 and report["sizes"]["unzipped_bytes"] == b.sizes.unzipped


def test_permissions_world_readable(built):
    _, b = built
    for info in zipfile.ZipFile(b.zip_path).infolist():
        assert (info.external_attr >> 16) & 0o444 == 0o444, info.filename


def test_reproducible(built, tmp_path):
    spec, b = built
    again = build_package(PackageSpec(models=spec.models, out_dir=tmp_path, pack=spec.pack,
                                      target=spec.target, wheel_dir=spec.wheel_dir))
    assert again.sha256 == b.sha256


def test_dockerfile_installs_exactly_the_zip(built, tmp_path):
    """No Docker engine here: check the instructions, then run the extraction step itself."""
    _, b = built
    lines = [ln.strip() for ln in b.dockerfile_path.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[0] == "FROM --platform=linux/amd64 public.ecr.aws/lambda/python:3.11 AS unpack"
    assert lines[1] == f"COPY {b.zip_path.name} /tmp/function.zip"
    run = lines[2].removeprefix("RUN ").split()
    assert run == ["python3", "-m", "zipfile", "-e", "/tmp/function.zip", "/tmp/function"]
    assert lines[3] == "FROM --platform=linux/amd64 public.ecr.aws/lambda/python:3.11"
    assert lines[4] == "COPY --from=unpack /tmp/function/ ${LAMBDA_TASK_ROOT}/"
    assert lines[-1] == json.dumps([HANDLER]).join(["CMD ", ""])
    envs = dict(ln.removeprefix("ENV ").split("=", 1) for ln in lines if ln.startswith("ENV "))
    assert envs == b.manifest["environment"]
    assert sum(ln.startswith("COPY") for ln in lines) == 2  # nothing but the zip goes in

    out = tmp_path / "function"
    subprocess.run([sys.executable, "-m", "zipfile", "-e", str(b.zip_path), str(out)], check=True)
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted(zipfile.ZipFile(b.zip_path).namelist())


def test_refuses_a_package_over_the_limit_and_names_numpy(built, tmp_path):
    spec, _ = built
    small = PackageSpec(models=spec.models, out_dir=tmp_path, target=spec.target,
                        wheel_dir=spec.wheel_dir, limits=SizeLimits(max_zipped=5 * 2**20))
    with pytest.raises(PackageTooLarge, match=r"zipped size .* over the limit of 5\.00 MB; biggest components: numpy"):
        build_package(small)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind


def test_no_wheel_for_the_target_names_the_target(built, tmp_path):
    spec, _ = built
    arm = PackageSpec(models=spec.models, out_dir=tmp_path, target=LambdaTarget("3.11", "arm64"),
                      wheel_dir=spec.wheel_dir)
    with pytest.raises(PackageError, match=r"python3\.11 arm64 \(Amazon Linux 2, glibc 2\.26"):
        build_package(arm)


def test_python312_gets_a_wheel_for_amazon_linux_2023(tmp_path):
    art = tiny_artifact(tmp_path / "kim")
    b = build_package(PackageSpec(models=(("kim", art),), out_dir=tmp_path / "d",
                                  target=LambdaTarget("3.12"), wheel_dir=wheel_dir("cp312")))
    names = zipfile.ZipFile(b.zip_path).namelist()
    assert any(n.startswith("numpy/_core/_multiarray_umath.cpython-312-x86_64") for n in names)
    assert b.zip_path.name == "millicent-function-py3.12-x86_64.zip"


def test_bad_inputs(tmp_path):
    art = tiny_artifact(tmp_path / "kim")
    with pytest.raises(PackageError, match="model name"):
        build_package(PackageSpec(models=(("../x", art),), out_dir=tmp_path, target=PY311))
    from millicent.errors import ArtifactError
    with pytest.raises(ArtifactError):
        build_package(PackageSpec(models=(("kim", tmp_path / "nothing"),), out_dir=tmp_path, target=PY311))
    with pytest.raises(PackageError, match="pack file"):
        build_package(PackageSpec(models=(("kim", art),), out_dir=tmp_path, target=PY311,
                                  pack=tmp_path / "missing.pack"))


def test_cli_package_prints_the_size_report(built, tmp_path, capsys):
    spec, _b = built
    rc = main(["package", "--model", f"kim={spec.models[0][1]}", "--python", "3.11",
               "--wheel-dir", str(spec.wheel_dir), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "numpy 2.2" in out and "artifact kim" in out and "millicent runtime" in out
    assert "Lambda limit" in out and "250.00 MB" in out and "MB zipped" in out and "MB unzipped" in out
    assert "no longer creates python3.11" in out
    assert Path(tmp_path, "millicent-function-py3.11-x86_64.zip").exists()
