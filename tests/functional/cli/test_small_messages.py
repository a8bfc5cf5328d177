"""Issue 20, item 8: the smaller messages, through the real CLI.

* ``eval --file`` against a ranker names the columns a ranker reads (not the classifier's
  ``--text-column``/``--label-column``, which cannot name them), and refuses those options;
* macro-F1 says which classes it averaged when the data lacks some the model predicts;
* ``eval --help`` says shipped names work; ``invoke --help`` shows its default endpoint;
* an unknown artifact name lists the shipped ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from millicent.train.shipped import SHIPPED


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_eval_file_against_a_ranker_names_the_ranker_columns(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\nwho wrote hamlet ?,1\n", encoding="utf-8")
    done = _cli("eval", "sm-trecqa", "--file", str(path), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{path}:1: no column 'question'" in done.stderr
    assert "a ranker reads the columns 'question', 'answer' and 'label'" in done.stderr
    assert "--text-column" not in done.stderr
    refused = _cli("eval", "sm-trecqa", "--file", str(path), "--text-column", "text", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--text-column / --label-column name a classifier's columns" in refused.stderr


def test_macro_f1_says_which_classes_it_averaged(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    rows = ["it is a great and moving film", "a dull and tedious mess", "wonderful acting",
            "the worst movie of the year", "charming and funny", "boring"]
    labels = ["positive", "negative"] * 3
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(rows, labels, strict=True)),
                    encoding="utf-8")
    done = _cli("eval", "kim-sst1-static", "--file", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    zero = [c for c in result["macro_f1_classes"] if result["per_class"][c]["support"] == 0]
    assert set(result["macro_f1_classes"]) >= {"negative", "positive"}
    if zero:  # the model predicted a class the file lacks: said, and the other average given
        assert "have no example in the data but were predicted" in done.stderr
        assert "macro_f1_data_classes" in result
    left_out = set(result["labels"]) - set(result["macro_f1_classes"])
    if left_out:
        assert "neither occur in the data nor were predicted" in done.stderr
    assert zero or left_out  # a 5-class model on binary labels: one of the two happens


def test_help_texts_and_an_unknown_artifact(tmp_path: Path) -> None:
    ev = _cli("eval", "--help", cwd=tmp_path).stdout
    assert "the name of a shipped artifact" in " ".join(ev.split())
    inv = _cli("invoke", "--help", cwd=tmp_path).stdout
    assert "default http://127.0.0.1:9000" in " ".join(inv.split())
    done = _cli("eval", "kim-sst1-statc", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no artifact 'kim-sst1-statc'" in done.stderr
    assert all(name in done.stderr for name in SHIPPED)


def test_an_output_that_cannot_be_written_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory\n", encoding="utf-8")
    done = _cli("embeddings", "pack", "glove-50", "--top", "10", "--out", "afile/top.pack",
                cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("millicent: error: ") and "afile" in done.stderr
