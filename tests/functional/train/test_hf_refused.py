"""What ``train hf`` refuses, with the reason, before it writes anything: bad rows named by
file and line, labels the training data lacks, pickled or remote-code base models, a base
without a tokenizer, a non-empty ``--out`` that is not a run, contradictory options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.functional.train.test_hf import WORDS, reviews, train
from tests.hf_support import tiny_bert

pytestmark = pytest.mark.train
pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("base"), WORDS, seed=3)


def classify(base: Path, train_file: Path, out: Path, *extra: str) -> list[str]:
    return ["--base", str(base), "--task", "classify", "--train", str(train_file),
            "--text-column", "review", "--label-column", "sentiment", "--epochs", "1",
            "--threads", "1", "--no-progress", *extra, "--out", str(out)]


def test_a_bad_row_is_named_by_file_and_line(base: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = reviews(tmp_path / "train.csv", 40, 1)
    lines = data.read_text().splitlines()
    lines[7] = "6,a review without its label"  # file line 8
    data.write_text("\n".join(lines) + "\n")
    code, _, err = train(classify(base, data, tmp_path / "out"), capsys)
    assert code == 1 and f"{data}:8:" in err
    assert not (tmp_path / "out").exists()  # nothing written: the fixed file starts afresh


def test_a_dev_label_the_training_data_lacks(base: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    dev = reviews(tmp_path / "dev.csv", 10, 2)
    dev.write_text(dev.read_text().replace("negative", "neutral", 1))
    code, _, err = train(classify(base, reviews(tmp_path / "train.csv", 40, 1), tmp_path / "out",
                                  "--dev", str(dev)), capsys)
    assert code == 1 and "'neutral' (first on line 2)" in err and str(dev) in err


def _copy_base(base: Path, to: Path) -> Path:
    shutil.copytree(base, to)
    return to


def test_pickled_weights_are_refused(base: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    pickled = _copy_base(base, tmp_path / "pickled")
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    code, _, err = train(classify(pickled, reviews(tmp_path / "t.csv", 20, 1), tmp_path / "o"),
                         capsys)
    assert code == 2 and "only pickled weights (pytorch_model.bin)" in err
    assert "safetensors only" in err


def test_remote_code_is_refused(base: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    remote = _copy_base(base, tmp_path / "remote")
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    code, _, err = train(classify(remote, reviews(tmp_path / "t.csv", 20, 1), tmp_path / "o"),
                         capsys)
    assert code == 2 and "asks for remote code" in err


def test_a_base_without_tokenizer_json(base: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    slow = _copy_base(base, tmp_path / "slow")
    (slow / "tokenizer.json").unlink()
    code, _, err = train(classify(slow, reviews(tmp_path / "t.csv", 20, 1), tmp_path / "o"),
                         capsys)
    assert code == 2 and "no tokenizer.json" in err


def test_a_non_empty_out_that_is_not_a_run(base: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = train(classify(base, reviews(tmp_path / "t.csv", 20, 1), out), capsys)
    assert code == 2 and "holds no `millicent train hf` run" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--dataset", "trecqa"], "not both or neither"),
    (["--label-names", "0=a,1=b", "--task", "rank"], "--label-names is for --task classify"),
    (["--max-length", "4"], "--max-length must be at least 8"),
])
def test_contradictory_options(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               extra: list[str], message: str) -> None:
    code, _, err = train(classify(base, reviews(tmp_path / "t.csv", 20, 1), tmp_path / "o",
                                  *extra), capsys)
    assert code == 2 and message in err
    assert not (tmp_path / "o").exists()


def test_a_dataset_of_another_task(base: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = train(["--base", str(base), "--task", "classify", "--dataset", "trecqa",
                          "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--dataset must be one of ['sst-1', 'sst-2'] with --task classify" in err
