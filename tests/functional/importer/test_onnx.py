"""``millicent import onnx``: networks exported by torch.onnx.export import, serve equal to
PyTorch through the runtime (eval's path, the service, the handler's serve), and graphs that
break the contract are refused at import with a message naming the problem — writing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from millicent.cli.main import main  # noqa: E402
from millicent.config import Limits  # noqa: E402
from millicent.runtime.artifact import TokenizerSpec, read_manifest  # noqa: E402
from millicent.runtime.handler import serve  # noqa: E402
from millicent.runtime.registry import load_model  # noqa: E402
from millicent.store.memory import MemoryStore  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402
from tests import onnx_support as ox  # noqa: E402

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

pytestmark = pytest.mark.train
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sst2_dev(data_dir: Path) -> list[str]:
    from millicent.data.sst import load_sst

    return [e.text for e in load_sst(data_dir, task="sst-2", split="dev")]


@pytest.fixture(scope="module")
def embeddings(data_dir: Path, sst2_dev: list[str]) -> MemoryStore:
    """GloVe-50 for the SST-2 dev words (the vectors an imported model's manifest names)."""
    from millicent.data.vectors import load_vectors
    from millicent.tokenizers.ptb import tokenize

    vectors = load_vectors("glove-50", data_dir, vocab={t for s in sst2_dev for t in tokenize(s)},
                           key=PTB.vocabulary_key)
    return MemoryStore.from_vectors(vectors.words, vectors.matrix, source="glove-50")


def _import(graph: Path, out: Path, *args: str) -> int:
    return main(["import", "onnx", str(graph), "--out", str(out), *args])


def _embed(model: Any, store: MemoryStore, texts: list[str]) -> list[np.ndarray]:
    return [store.lookup(model.encode(t).keys).matrix for t in texts]


@pytest.fixture(scope="module")
def bigru(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A bidirectional GRU exported with dynamic axes, imported as an SST-2 classifier."""
    tmp = tmp_path_factory.mktemp("bigru")
    module = ox.seeded(ox.BiGRUClassifier())
    graph = ox.export(module, tmp / "bigru.onnx", [ox.example()], ["emb"], output="logits")
    assert _import(graph, tmp / "art", "--role", "classify", "--labels", "negative,positive",
                   "--task", "sst-2") == 0
    return module, tmp / "art"


def test_a_recurrent_classifier_equals_pytorch_on_every_dev_sentence(
        bigru: tuple[Any, Path], embeddings: MemoryStore, sst2_dev: list[str], data_dir: Path) -> None:
    from millicent.train.evaluate import classify_all, evaluate_artifact

    module, artifact = bigru
    model = load_model(artifact)
    assert model.kind == "onnx" and model.role == "classify" and model.labels == ["negative", "positive"]
    got = classify_all(model, embeddings, sst2_dev)  # eval's path: batches of 256 texts
    want = ox.softmax(ox.torch_each(module, _embed(model, embeddings, sst2_dev)))
    assert got.shape == (len(sst2_dev), 2) == (872, 2)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # millicent eval reports the accuracy of exactly those probabilities
    from millicent.data.sst import load_sst

    gold = np.array([e.label for e in load_sst(data_dir, task="sst-2", split="dev")])
    result = evaluate_artifact(artifact, "dev", data_dir)
    assert result["n"] == 872 and result["accuracy"] == pytest.approx(float((want.argmax(1) == gold).mean()))


def test_a_graph_without_lengths_is_never_fed_padding(bigru: tuple[Any, Path], embeddings: MemoryStore,
                                                      sst2_dev: list[str]) -> None:
    """Mixed lengths in one batch: grouped by length, so each answer is the text's own
    (a padded bidirectional GRU would answer differently)."""
    module, artifact = bigru
    model = load_model(artifact)
    texts = [sst2_dev[0], "a film .", sst2_dev[5], "bad .", "a film ."]
    embs = _embed(model, embeddings, texts)
    assert len(embs[0]) > len(embs[1])
    want = ox.softmax(ox.torch_each(module, embs))
    np.testing.assert_allclose(model.predict_batch(embs), want, atol=1e-5)
    padded = np.zeros((2, len(embs[0]), ox.DIM), np.float32)
    padded[0], padded[1, : len(embs[1])] = embs[0], embs[1]
    with torch.no_grad():
        if_padded = ox.softmax(module(torch.from_numpy(padded)).numpy())[1]
    assert np.abs(if_padded - want[1]).max() > 1e-4  # padding would have shown


def test_served_answers_equal_pytorch(bigru: tuple[Any, Path], embeddings: MemoryStore,
                                      sst2_dev: list[str]) -> None:
    module, artifact = bigru
    model = load_model(artifact)
    one = serve(model, "gru", embeddings, {"sentence": sst2_dev[3]}, Limits())
    batch = serve(model, "gru", embeddings, {"sentences": sst2_dev[:20]}, Limits())
    want = ox.softmax(ox.torch_each(module, _embed(model, embeddings, sst2_dev[:20])))
    np.testing.assert_allclose(one["probabilities"], want[3], atol=1e-5)
    assert one["label"] == model.labels[int(want[3].argmax())] and one["model"] == "gru"
    np.testing.assert_allclose([r["probabilities"] for r in batch["results"]], want, atol=1e-5)


def test_a_lengths_graph_is_fed_padded_batches_and_equals_pytorch(
        tmp_path: Path, embeddings: MemoryStore, sst2_dev: list[str]) -> None:
    module = ox.seeded(ox.LastStateLSTM(), seed=3)
    graph = ox.export(module, tmp_path / "lstm.onnx", [ox.example(), torch.tensor([5, 3])],
                      ["emb", "lengths"], output="logits")
    assert _import(graph, tmp_path / "art", "--role", "classify", "--labels", "a,b,c") == 0
    model = load_model(tmp_path / "art")
    manifest = read_manifest(tmp_path / "art")
    assert manifest.sections["onnx"]["lengths"] is True
    assert model.graph.batches([5, 3, 9, 3]) == [[0, 1, 2, 3]]  # type: ignore[union-attr]
    embs = _embed(model, embeddings, sst2_dev[:40])
    want = ox.softmax(ox.torch_each(module, embs, lengths=True))
    np.testing.assert_allclose(model.predict_batch(embs), want, atol=1e-5)


def test_a_bilinear_ranker_equals_pytorch(tmp_path: Path, embeddings: MemoryStore,
                                          sst2_dev: list[str]) -> None:
    module = ox.seeded(ox.BilinearRanker(), seed=5)
    graph = ox.export(module, tmp_path / "rank.onnx", [ox.example(), ox.example(tokens=4)],
                      ["question", "answer"], output="score")
    assert _import(graph, tmp_path / "art", "--role", "rank") == 0
    model = load_model(tmp_path / "art")
    assert model.role == "rank"
    assert read_manifest(tmp_path / "art").sections["onnx"]["output"] == {"name": "score", "kind": "score"}
    question, answers = sst2_dev[0], sst2_dev[1:30]
    body = serve(model, "qa", embeddings, {"question": question, "answers": answers}, Limits())
    q = _embed(model, embeddings, [question])[0]
    with torch.no_grad():
        want = [float(module(torch.from_numpy(q)[None], torch.from_numpy(a)[None])[0])
                for a in _embed(model, embeddings, answers)]
    np.testing.assert_allclose(body["scores"], want, atol=1e-5)


def test_a_transformer_with_external_data_imports_and_serves_equal(
        tmp_path: Path, embeddings: MemoryStore, sst2_dev: list[str]) -> None:
    pytest.importorskip("onnxscript")
    module = ox.seeded(ox.TransformerClassifier(), seed=7)
    src = tmp_path / "export"
    src.mkdir()
    graph = ox.export(module, src / "encoder.onnx", [ox.example()], ["emb"], output="logits",
                      dynamo=True)
    assert (src / "encoder.onnx.data").is_file()  # the exporter's default: weights beside it
    assert _import(graph, tmp_path / "art", "--role", "classify", "--labels", "neg,pos") == 0
    section = read_manifest(tmp_path / "art").sections["onnx"]
    assert section["external_data"] == ["encoder.onnx.data"]
    assert (tmp_path / "art" / "encoder.onnx.data").read_bytes() == (src / "encoder.onnx.data").read_bytes()
    model = load_model(tmp_path / "art")
    body = serve(model, "enc", embeddings, {"sentences": sst2_dev[:25]}, Limits())
    want = ox.softmax(ox.torch_each(module, _embed(model, embeddings, sst2_dev[:25])))
    np.testing.assert_allclose([r["probabilities"] for r in body["results"]], want, atol=1e-5)


# ------------------------------------------------------------------------------ refusals
def _refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, graph: Path, *args: str) -> str:
    """Import must fail with exit 2 and leave nothing behind; returns the error message."""
    capsys.readouterr()
    out = tmp_path / "refused"
    assert _import(graph, out, *args) == 2
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".refused")], "a staged dir was left"
    return capsys.readouterr().err


def test_a_fixed_batch_axis_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = ox.export(ox.seeded(ox.BiGRUClassifier()), tmp_path / "fixed.onnx", [ox.example()],
                      ["emb"], dynamic=False)
    err = _refused(capsys, tmp_path, graph, "--role", "classify", "--labels", "a,b")
    assert "fixed batch axis of 2" in err and "'emb'" in err and "dynamic_axes" in err


def test_a_graph_that_runs_only_at_its_export_length_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """nn.MultiheadAttention through the TorchScript exporter: declared dynamic, baked length."""
    graph = ox.export(ox.seeded(ox.TransformerClassifier()), tmp_path / "mha.onnx", [ox.example()],
                      ["emb"], dynamo=False)
    err = _refused(capsys, tmp_path, graph, "--role", "classify", "--labels", "a,b")
    assert "embeddings [2, 3, 50]" in err and "Reshape" in err and "dynamo=True" in err


def test_a_wrong_input_rank_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = ox.export(ox.seeded(ox.PooledClassifier()), tmp_path / "pooled.onnx", [torch.zeros(2, 50)],
                      ["pooled"])
    err = _refused(capsys, tmp_path, graph, "--role", "classify", "--labels", "a,b")
    assert "'pooled' float32 [batch, 50] is of rank 2" in err and "[batch, tokens, 50]" in err


@pytest.mark.parametrize(("labels", "expected"), [
    ("a,b,c", "has 2 columns but 3 labels were given (a, b, c)"),
    (None, "a classifier needs --labels (2 labels"),
])
def test_labels_must_match_the_output_width(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            labels: str | None, expected: str) -> None:
    graph = ox.export(ox.seeded(ox.BiGRUClassifier()), tmp_path / "g.onnx", [ox.example()], ["emb"],
                      output="logits")
    err = _refused(capsys, tmp_path, graph, "--role", "classify",
                   *(["--labels", labels] if labels else []))
    assert expected in err


def test_more_refusals_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_onnx = tmp_path / "notes.onnx"
    not_onnx.write_text("this is not a graph\n")
    assert "is not an ONNX model" in _refused(capsys, tmp_path, not_onnx, "--role", "classify",
                                              "--labels", "a,b")
    gru = ox.export(ox.seeded(ox.BiGRUClassifier()), tmp_path / "g.onnx", [ox.example()], ["emb"])
    err = _refused(capsys, tmp_path, gru, "--role", "rank")
    assert "a ranker takes two inputs" in err and "'emb' float32 [batch, emb_tokens, 50]" in err
    table = tmp_path / "table.npz"
    np.savez(table, words=np.array(["a", "b"]), matrix=np.zeros((2, 30), np.float32))
    err = _refused(capsys, tmp_path, gru, "--role", "classify", "--labels", "a,b",
                   "--learned-table", str(table))
    assert "takes 50-d vectors but the learned table table.npz has 30-d vectors" in err
    ranker = ox.export(ox.seeded(ox.BilinearRanker()), tmp_path / "r.onnx",
                       [ox.example(), ox.example()], ["q", "a"], output="score")
    err = _refused(capsys, tmp_path, ranker, "--role", "rank", "--outputs", "logits")
    assert "--outputs logits needs an output [batch, 2]; the graph answers [batch]" in err
    assert "--labels is for classifiers" in _refused(capsys, tmp_path, ranker, "--role", "rank",
                                                     "--labels", "no,yes")


def test_a_ranker_whose_texts_share_one_token_axis_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One symbolic name for both token axes declares questions as long as their answers
    (onnxruntime then fails on a 2-token question with a 64-token answer)."""
    graph = tmp_path / "shared.onnx"
    with torch.no_grad():
        torch.onnx.export(ox.seeded(ox.BilinearRanker()), (ox.example(), ox.example()), str(graph),
                          input_names=["q", "a"], output_names=["score"], dynamo=False,
                          dynamic_axes={"q": {0: "batch", 1: "tokens"}, "a": {0: "batch", 1: "tokens"},
                                        "score": {0: "batch"}})
    err = _refused(capsys, tmp_path, graph, "--role", "rank")
    assert "share the token axis 'tokens'" in err and "'q_tokens'" in err


def test_an_existing_artifact_is_kept_unless_forced(bigru: tuple[Any, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, artifact = bigru
    graph = artifact / "model.onnx"
    out = tmp_path / "art"
    assert _import(graph, out, "--role", "classify", "--labels", "x,y") == 0
    assert _import(graph, out, "--role", "classify", "--labels", "p,q") == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert read_manifest(out).labels == ("x", "y")
    assert _import(graph, out, "--role", "classify", "--labels", "p,q", "--force") == 0
    assert read_manifest(out).labels == ("p", "q")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]
    printed = json.loads(capsys.readouterr().out)
    assert printed["labels"] == ["p", "q"] and printed["probed"] == 8


# --------------------------------------------------------------- rankers, learned tables
def test_a_pair_model_equals_pytorch_on_every_trecqa_dev_pair(tmp_path: Path, data_dir: Path) -> None:
    """Two-logit output ([batch, 2]) with lengths inputs: eval's rank path (question by
    question, answers padded) against PyTorch pair by pair, and millicent eval's MAP."""
    from millicent.data.trecqa import load_trecqa
    from millicent.train.evaluate import evaluate_artifact, memory_embeddings, rank_all
    from millicent.train.metrics import map_mrr

    module = ox.seeded(ox.LengthsPairClassifier(), seed=9)
    graph = ox.export(module, tmp_path / "pair.onnx",
                      [ox.example(), ox.example(tokens=4), torch.tensor([5, 2]), torch.tensor([4, 1])],
                      ["q", "a", "q_len", "a_len"], output="logits")
    assert _import(graph, tmp_path / "art", "--role", "rank", "--task", "trecqa") == 0
    model = load_model(tmp_path / "art")
    assert read_manifest(tmp_path / "art").sections["onnx"]["output"]["kind"] == "logits"
    pairs = load_trecqa(data_dir, "raw-dev")
    assert len(pairs) == 1148
    tokens = [t for p in pairs for t in model.tokenize(p.question) + model.tokenize(p.answer)]
    store = memory_embeddings(model, data_dir, tokens)
    got = rank_all(model, store, pairs)  # the logit margin
    want = np.empty(len(pairs))
    with torch.no_grad():
        for i, p in enumerate(pairs):
            q, a = (store.lookup(model.encode(t).keys).matrix for t in (p.question, p.answer))
            out = module(torch.from_numpy(q)[None], torch.from_numpy(a)[None],
                         torch.tensor([len(q)]), torch.tensor([len(a)]))[0].numpy()
            want[i] = out[1] - out[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    expected = map_mrr([p.qid for p in pairs], want, [p.label for p in pairs])
    result = evaluate_artifact(tmp_path / "art", "dev", data_dir)
    assert result["map"] == pytest.approx(expected["map"]) and result["questions"] == expected["questions"]


def test_a_learned_table_ships_in_the_artifact(tmp_path: Path, sst2_dev: list[str]) -> None:
    """``--learned-table``: the graph's own vectors, kept as embeddings.npz (source
    ``artifact``), the vocabulary ``--vocab-from ARTIFACT`` gives, served equal to PyTorch."""
    from millicent.cli.embeddings import resolve_vocab
    from millicent.runtime.artifact import vectors_source
    from millicent.tokenizers.ptb import tokenize

    words = sorted({t for s in sst2_dev[:50] for t in tokenize(s)})
    matrix = np.random.default_rng(1).normal(size=(len(words), 8)).astype(np.float32)
    table = tmp_path / "table.npz"
    np.savez(table, words=np.array(words), matrix=matrix)
    module = ox.seeded(ox.BiGRUClassifier(dim=8), seed=2)
    graph = ox.export(module, tmp_path / "g.onnx", [ox.example(dim=8)], ["emb"])
    assert _import(graph, tmp_path / "art", "--role", "classify", "--labels", "neg,pos",
                   "--learned-table", str(table)) == 0
    manifest = read_manifest(tmp_path / "art")
    assert manifest.embedding.source == "artifact" and manifest.dim == 8
    source = vectors_source(tmp_path / "art")
    assert source.learned_table == tmp_path / "art" / "embeddings.npz"
    assert resolve_vocab([str(tmp_path / "art")], None) == set(words)
    model = load_model(tmp_path / "art")
    store = MemoryStore.from_vectors(words, matrix, source="learned")
    body = serve(model, "own", store, {"sentences": sst2_dev[:50]}, Limits())
    want = ox.softmax(ox.torch_each(module, _embed(model, store, sst2_dev[:50])))
    np.testing.assert_allclose([r["probabilities"] for r in body["results"]], want, atol=1e-5)


# ------------------------------------------------------------- the runtime's own guards
class SqrtOfSum(torch.nn.Module):
    """Finite on zero inputs (so the import accepts it), NaN when a text's vectors sum below 0."""

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        s = emb.sum(dim=(1, 2))
        return torch.stack([torch.sqrt(s), torch.zeros_like(s)], dim=1)


def test_a_nan_answer_is_a_500_naming_the_shape_never_invalid_json(tmp_path: Path) -> None:
    from millicent.config import FunctionConfig
    from millicent.runtime.environment import FunctionEnvironment
    from millicent.runtime.handler import handle

    graph = ox.export(SqrtOfSum(), tmp_path / "sqrt.onnx", [ox.example()], ["emb"], output="logits")
    assert _import(graph, tmp_path / "art", "--role", "classify", "--labels", "a,b") == 0
    store = MemoryStore.from_vectors(["up", "down"], np.stack([np.ones(50), -np.ones(50)]).astype(np.float32),
                                     source="test")
    config = FunctionConfig(models=(("m", str(tmp_path / "art")),), store_url="memory://",
                            pack_path=None, lru_size=10, store_deadline_s=1.0, limits=Limits())
    env = FunctionEnvironment(config=lambda: config, models=lambda c: {"m": load_model(tmp_path / "art")},
                              store=lambda c: store)

    def post(text: str) -> tuple[int, dict[str, Any]]:
        event = {"version": "2.0", "rawPath": "/m", "body": json.dumps({"sentence": text}),
                 "isBase64Encoded": False,
                 "requestContext": {"http": {"method": "POST", "path": "/m"}, "stage": "$default"}}
        out = handle(event, None, env)
        return out["statusCode"], json.loads(out["body"])

    status, body = post("up up")
    assert status == 200 and body["probabilities"][0] > body["probabilities"][1]
    status, body = post("down down")
    assert status == 500 and body["error"] == "artifact_error"
    assert "NaN or infinity for embeddings [1, 2, 50]" in body["message"]


def test_a_damaged_artifact_is_refused_at_load(bigru: tuple[Any, Path], tmp_path: Path) -> None:
    import shutil

    from millicent.errors import ArtifactError

    _, artifact = bigru
    missing = shutil.copytree(artifact, tmp_path / "missing")
    (missing / "model.onnx").unlink()
    with pytest.raises(ArtifactError, match=r"artifact file missing: .*model\.onnx"):
        load_model(missing)
    renamed = shutil.copytree(artifact, tmp_path / "renamed")
    manifest = json.loads((renamed / "manifest.json").read_text())
    manifest["onnx"]["inputs"][0]["name"] = "tokens"
    (renamed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"the graph's inputs \['emb'\] are not the manifest's \['tokens'\]"):
        load_model(renamed)
    garbage = shutil.copytree(artifact, tmp_path / "garbage")
    (garbage / "model.onnx").write_bytes(b"\x08\x07 not a graph")
    with pytest.raises(ArtifactError, match="onnxruntime cannot load"):
        load_model(garbage)
    no_section = shutil.copytree(artifact, tmp_path / "no-section")
    manifest = json.loads((no_section / "manifest.json").read_text())
    del manifest["onnx"]
    (no_section / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="an onnx artifact needs an object 'onnx'"):
        load_model(no_section)
