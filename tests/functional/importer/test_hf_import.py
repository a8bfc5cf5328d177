"""``millicent import hf``: tiny BERT / DistilBERT / RoBERTa directories made here (random
seeded weights, real tokenizers) become ``transformer`` artifacts that, served from their
token table's rows, answer what torch answers — and everything the importer cannot serve
exactly is refused with the reason, writing nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.data.token_table import table_digest, token_table
from millicent.errors import InvalidInput
from millicent.importer.hf.run import import_hf
from millicent.runtime.artifact import load_artifact, read_manifest, vectors_source
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Pairs
from millicent.runtime.transformer import (
    TransformerClassifier,
    TransformerEmbedder,
    TransformerRanker,
)
from tests.hf_support import VARIED, bert_dir, distilbert_dir, roberta_dir

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

TEXTS = [t for t in VARIED if t.strip()]
PAIRS = [("who wrote hamlet ?", a) for a in TEXTS]
#: name → (builder, role)
MODELS = {
    "bert-embed": (lambda d: bert_dir(d), "embed"),
    "bert-classify": (lambda d: bert_dir(d, "classify"), "classify"),
    "bert-rank": (lambda d: bert_dir(d, "rank"), "rank"),
    "distilbert-classify": (distilbert_dir, "classify"),
    "roberta-embed": (lambda d: roberta_dir(d), "embed"),
    "roberta-rank": (lambda d: roberta_dir(d, "rank"), "rank"),
    "xlmr-classify": (lambda d: roberta_dir(d, "classify", xlmr=True), "classify"),
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Every tiny model: ``name → (source directory, artifact)``."""
    root = tmp_path_factory.mktemp("hf")
    out = {}
    for name, (build, role) in MODELS.items():
        source = build(root / name)
        artifact = root / f"{name}.artifact"
        import_hf(source, role, artifact, name=name)
        out[name] = (source, artifact)
    return out


def served(artifact: Path, texts: list[str], pairs: list[tuple[str, str]], batch: int) -> np.ndarray:
    """The artifact's answers, its rows taken from its token table by key (as a store would)."""
    model = load_model(artifact)
    vectors = token_table(vectors_source(artifact), by_frequency=False)
    row = {k: i for i, k in enumerate(vectors.words)}
    tok = model.tokenizer
    encs = [tok.encode_pair(q, a) for q, a in pairs] if pairs else [tok.encode(t) for t in texts]
    chunks = []
    for s in range(0, len(encs), batch):
        part = encs[s:s + batch]
        embs = [vectors.matrix[[row[k] for k in e.keys]] for e in part]
        if isinstance(model, TransformerEmbedder):
            chunks.append(model.embed_batch(embs, part))
        elif isinstance(model, TransformerClassifier):
            chunks.append(model.predict_batch(embs, part))
        else:
            assert isinstance(model, TransformerRanker)
            chunks.append(model.relevance(Pairs.joint(embs, part, model.dim)))
    return np.concatenate(chunks)


def reference(source: Path, role: str, texts: list[str], pairs: list[tuple[str, str]],
              max_tokens: int, pooling: str = "mean", normalize: bool = True) -> np.ndarray:
    """torch, one text at a time (no padding at all), the table inside the model."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    cls = AutoModel if role == "embed" else AutoModelForSequenceClassification
    model = cls.from_pretrained(str(source), local_files_only=True).eval()
    out = []
    for item in pairs or texts:
        args = item if pairs else (item,)
        enc = tok(*args, truncation=True, max_length=max_tokens, return_tensors="pt",
                  return_token_type_ids=model.config.model_type == "bert")
        with torch.no_grad():
            y = model(**enc)
        if role == "embed":
            h = y.last_hidden_state[0]
            v = h[0] if pooling == "cls" else h.mean(dim=0)
            out.append((v / v.norm() if normalize else v).numpy())
        elif role == "classify":
            out.append(torch.softmax(y.logits[0], -1).numpy())
        else:
            logits = y.logits[0]
            out.append(float(torch.sigmoid(logits[0]) if logits.numel() == 1
                             else torch.softmax(logits, -1)[1]))
    return np.asarray(out)


@pytest.mark.parametrize("name", list(MODELS))
def test_served_equals_torch(name: str, imported: dict[str, tuple[Path, Path]]) -> None:
    source, artifact = imported[name]
    manifest = read_manifest(artifact)
    role = manifest.role
    texts, pairs = (TEXTS, []) if role != "rank" else ([], PAIRS)
    section = manifest.sections["transformer"]
    ref = reference(source, role, texts, pairs, manifest.tokenizer.max_tokens or 512,
                    section.get("pooling") or "mean", bool(section.get("normalize")))
    for batch in (1, 5, len(TEXTS)):  # alone, padded batches, all at once
        got = served(artifact, texts, pairs, batch)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-5, (name, batch)


def test_manifests_record_what_is_served(imported: dict[str, tuple[Path, Path]]) -> None:
    m = {name: read_manifest(a) for name, (_, a) in imported.items()}
    assert {x.kind for x in m.values()} == {"transformer"}
    t = {name: x.sections["transformer"] for name, x in m.items()}
    assert t["bert-embed"]["inputs"] == ["inputs_embeds", "attention_mask", "token_type_ids"]
    assert t["distilbert-classify"]["inputs"] == ["inputs_embeds", "attention_mask"]
    assert t["roberta-rank"]["inputs"] == ["inputs_embeds", "attention_mask"]
    assert (t["bert-embed"]["pooling"], t["bert-embed"]["normalize"]) == ("mean", True)
    assert (t["roberta-embed"]["pooling"], t["roberta-embed"]["normalize"]) == ("cls", False)
    assert t["bert-rank"]["head"] == "sigmoid" and t["roberta-rank"]["head"] == "softmax"
    assert m["bert-classify"].labels == ("label-0", "label-1", "label-2")
    assert m["distilbert-classify"].labels == ("negative", "positive")
    assert m["xlmr-classify"].labels == ("c0", "c1", "c2")
    assert t["xlmr-classify"]["architecture"] == "xlm-roberta"
    assert t["xlmr-classify"]["inputs"] == ["inputs_embeds", "attention_mask"]
    # max_tokens: sentence-transformers' max_seq_length, else the positions (RoBERTa's less 2)
    assert m["bert-embed"].tokenizer.max_tokens == 48
    assert m["roberta-embed"].tokenizer.max_tokens == 60
    assert m["bert-classify"].tokenizer.max_tokens == 64
    assert m["roberta-rank"].tokenizer.max_tokens == 64
    for name, (source, artifact) in imported.items():
        assert m[name].tokenizer.name == "hf" and t[name]["parity"]["max_abs_diff"] < 1e-5
        # the artifact holds the graph and the tokenizer, never the table
        assert sorted(p.name for p in artifact.iterdir()) == ["manifest.json", "model.onnx",
                                                              "tokenizer.json"]
        table = m[name].embedding.table
        assert table is not None and table["path"] == str((source / "model.safetensors").resolve())
        from safetensors.numpy import load_file

        weights = load_file(str(source / "model.safetensors"))
        assert table_digest(weights[table["tensor"]]) == table["sha256"]
        assert m[name].training["files"]["model.safetensors"]
        assert load_artifact(artifact).weights == {}


def _copy(imported: dict[str, tuple[Path, Path]], name: str, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(imported[name][0], target)
    return target


def _edit_config(directory: Path, **changes: Any) -> None:
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def _drop_tensor(directory: Path, suffix: str) -> None:
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(directory / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.endswith(suffix)},
              str(directory / "model.safetensors"), metadata={"format": "pt"})


REFUSALS = {
    "architecture": ("bert-embed", "embed", lambda d: _edit_config(d, model_type="electra"),
                     "architecture 'electra' is not supported"),
    "remote code": ("bert-embed", "embed", lambda d: _edit_config(d, auto_map={"AutoModel": "x.Y"}),
                    "remote code"),
    "pickle": ("bert-classify", "classify",
               lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), "a pickle"),
    "no tokenizer.json": ("bert-embed", "embed", lambda d: (d / "tokenizer.json").unlink(),
                          "no tokenizer.json"),
    "table width": ("bert-embed", "embed", lambda d: _edit_config(d, hidden_size=48),
                    "32 wide but the hidden size is 48"),
    "missing tensor": ("bert-classify", "classify",
                       lambda d: _drop_tensor(d, "layer.1.output.dense.weight"),
                       "lack tensor\\(s\\) the config needs: .*layer.1.output.dense.weight"),
    "no head": ("bert-embed", "classify", lambda d: None, "sequence-classification head"),
    "no table": ("bert-embed", "embed", lambda d: _drop_tensor(d, "word_embeddings.weight"),
                 "no token table"),
    "dense step": ("bert-embed", "embed", lambda d: (d / "modules.json").write_text(json.dumps(
        [*json.loads((d / "modules.json").read_text()),
         {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}])),
        "Dense are not reproduced"),
    "positions": ("bert-embed", "embed",
                  lambda d: _edit_config(d, position_embedding_type="relative_key"),
                  "relative_key"),
    "rank of three": ("bert-classify", "rank", lambda d: None, "one logit .* or two"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_with_the_reason_and_nothing_written(case: str, tmp_path: Path,
                                                     imported: dict[str, tuple[Path, Path]]) -> None:
    name, role, damage, message = REFUSALS[case]
    directory = _copy(imported, name, tmp_path)
    damage(directory)
    out = tmp_path / "out"
    with pytest.raises(InvalidInput, match=message):
        import_hf(directory, role, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging left behind


def test_an_existing_artifact_is_replaced_only_with_force(tmp_path: Path,
                                                          imported: dict[str, tuple[Path, Path]]) -> None:
    source = imported["distilbert-classify"][0]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="exists and is not empty"):
        import_hf(source, "classify", out)
    assert (out / "keep.txt").read_text() == "mine"
    import_hf(source, "classify", out, force=True)
    assert not (out / "keep.txt").exists() and read_manifest(out).role == "classify"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_import_and_refusal(tmp_path: Path, imported: dict[str, tuple[Path, Path]],
                                capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.cli.main import main

    source = imported["bert-rank"][0]
    out = tmp_path / "cli"
    assert main(["import", "hf", str(source), "--role", "rank", "--out", str(out), "--name", "qa"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["role"] == "rank" and printed["name"] == "qa" and printed["precision"] == "fp32"
    assert printed["table"]["sha256"] == read_manifest(out).embedding.table["sha256"]  # type: ignore[index]
    assert "millicent import hf" in read_manifest(out).training["command"]
    base = imported["bert-embed"][0]
    assert main(["import", "hf", str(base), "--role", "classify", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "sequence-classification head" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- the transformer kind
def test_a_pair_joined_from_its_sides_is_the_pair_sequence(imported: dict[str, tuple[Path, Path]]) -> None:
    _, artifact = imported["bert-rank"]
    model = load_model(artifact)
    assert isinstance(model, TransformerRanker)
    vectors = token_table(vectors_source(artifact), by_frequency=False)
    question, answers = PAIRS[0][0], [a for _, a in PAIRS[:4]]
    encs = [model.tokenizer.encode_pair(question, a) for a in answers]
    embs = [vectors.matrix[e.ids] for e in encs]
    whole = model.score_sequences(embs, [e.type_ids or [] for e in encs])
    # the question's side ([CLS] q [SEP], types 0) and each answer's (a [SEP], types 1)
    cut = encs[0].type_ids.index(1)  # type: ignore[union-attr]
    pairs = Pairs(embs[0][:cut], [e[cut:] for e in embs])
    assert np.allclose(model.relevance(pairs), whole, atol=1e-6)
    margins = model.ranking(pairs)
    assert np.array_equal(np.argsort(margins), np.argsort(whole))
    # token types matter for BERT: all zeros answers differently
    zeros = model.score_sequences(embs, [[0] * len(e) for e in encs])
    assert np.abs(zeros - whole).max() > 1e-4
    with pytest.raises(ValueError, match="token types for"):
        model.score_sequences(embs[:1], [[0, 1]])


def test_the_runtime_refuses_a_manifest_that_does_not_match_its_graph(
        imported: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    from millicent.errors import ArtifactError

    copy = tmp_path / "a"
    shutil.copytree(imported["bert-embed"][1], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["transformer"]["inputs"] = ["inputs_embeds", "attention_mask"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="graph's inputs"):
        load_model(copy)
    manifest["transformer"]["inputs"].append("token_type_ids")
    manifest["transformer"]["pooling"] = "weighted"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="pooling 'weighted'"):
        load_model(copy)


def test_the_whole_model_answers_as_the_tableless_one(imported: dict[str, tuple[Path, Path]],
                                                      tmp_path: Path) -> None:
    """The baseline "as others deploy it": token ids in, the table inside the graph."""
    import onnxruntime as ort

    from millicent.importer.hf.whole import export_whole

    for name in ("bert-embed", "distilbert-classify"):
        source, artifact = imported[name]
        role = read_manifest(artifact).role
        whole = export_whole(source, role, tmp_path / name)
        assert sorted(p.name for p in whole.path.iterdir()) == ["model.onnx", "tokenizer.json",
                                                                "whole.json"]
        described = json.loads((whole.path / "whole.json").read_text())
        assert described["inputs"][0] == "input_ids" and described["precision"] == "fp32"
        session = ort.InferenceSession(str(whole.graph), providers=["CPUExecutionProvider"])
        model = load_model(artifact)
        for text in TEXTS[:6]:
            enc = model.tokenizer.encode(text)
            feeds = {"input_ids": np.array([enc.ids]), "attention_mask": np.ones((1, len(enc)), np.int64)}
            if "token_type_ids" in described["inputs"]:
                feeds["token_type_ids"] = np.array([enc.type_ids])
            (out,) = session.run(None, feeds)
            tableless = served(artifact, [text], [], 1)[0]
            if role == "embed":
                v = out[0].mean(axis=0)
                out_v = v / np.linalg.norm(v)
            else:
                e = np.exp(out[0] - out[0].max())
                out_v = e / e.sum()
            assert np.abs(out_v - tableless).max() < 1e-5
    int8 = export_whole(imported["bert-embed"][0], "embed", tmp_path / "int8", quantize="int8")
    assert json.loads((int8.path / "whole.json").read_text())["int8_config"] == "per-channel"


def test_served_by_the_service_from_a_sqlite_store(imported: dict[str, tuple[Path, Path]],
                                                   tmp_path: Path) -> None:
    """The request path: a body parsed, texts encoded by the artifact's tokenizer, the
    token rows looked up by key in a real SQLite store (loaded by the store's own loader),
    the transformer kind, the answer — equal to torch."""
    from millicent.config import Limits
    from millicent.runtime import service
    from millicent.runtime.requests import parse_request
    from millicent.store import open_embeddings, open_store
    from millicent.store.loader import load_store

    limits = Limits()
    for name in ("bert-embed", "distilbert-classify", "bert-rank", "roberta-rank"):
        source, artifact = imported[name]
        vs = vectors_source(artifact)
        vectors = token_table(vs, by_frequency=False)
        url = f"sqlite:///{tmp_path / name}.db"
        with open_store(url) as store:
            load_store(store, vectors.words, vectors.matrix, source=vs.label, distinct=True)
        embeddings = open_embeddings(url)
        model = load_model(artifact)
        manifest = read_manifest(artifact)
        section = manifest.sections["transformer"]
        role = manifest.role
        texts, pairs = (TEXTS[:5], []) if role != "rank" else ([], PAIRS[:5])
        ref = reference(source, role, texts, pairs, manifest.tokenizer.max_tokens or 512,
                        section.get("pooling") or "mean", bool(section.get("normalize")))
        if role == "rank":
            body = {"question": pairs[0][0], "answers": [a for _, a in pairs]}
            answer = service.rank(model, embeddings, parse_request("rank", body, limits), limits)  # type: ignore[arg-type]
            got = np.array(answer.results[0].scores)  # type: ignore[union-attr]
        elif role == "embed":
            request = parse_request("embed", {"sentences": texts}, limits)
            answer = service.embed(model, embeddings, request, limits)  # type: ignore[arg-type]
            got = np.array([r.embedding for r in answer.results])  # type: ignore[union-attr]
        else:
            request = parse_request("classify", {"sentences": texts}, limits)
            answer = service.classify(model, embeddings, request, limits)  # type: ignore[arg-type]
            got = np.array([r.probabilities for r in answer.results])  # type: ignore[union-attr]
        assert np.abs(got - ref).max() < 1e-5, name
        embeddings.close()
