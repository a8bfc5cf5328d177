"""``millicent serve`` gives all its functions one ``--store`` and ``--pack``, so it refuses
models that read different vectors before it starts listening."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"


def test_serve_refuses_models_over_different_vectors_before_listening(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.cli.main import main

    nonstatic = REPO / "millicent" / "artifacts" / "kim-sst2-glue-nonstatic"
    rc = main(["serve", "--model", f"kim={KIM}", "--model", f"sst2={nonstatic}",
               "--store", f"sqlite:///{tmp_path / 'v.db'}", "--port", "9", "--log-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "must share one table of vectors" in err and "sst2: artifact:" in err
