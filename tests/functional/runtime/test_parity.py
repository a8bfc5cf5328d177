"""The numpy runtime equals the torch model (random weights, random inputs), one by one and batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from millicent.runtime.registry import load_model  # noqa: E402
from millicent.runtime.roles import Classifier, Ranker  # noqa: E402
from millicent.torch_models.kim_cnn import KimCNN as TorchKim  # noqa: E402
from millicent.torch_models.kim_cnn import KimCNNConfig  # noqa: E402
from millicent.torch_models.sm_cnn import SMCNN as TorchSM  # noqa: E402
from millicent.torch_models.sm_cnn import SMCNNConfig  # noqa: E402
from millicent.train.export import export_model  # noqa: E402

pytestmark = pytest.mark.train

DIM = 20


def _texts(rng: np.random.Generator, n: int, dim: int = DIM) -> list[np.ndarray]:
    lengths = [1, 2, 3, 4, 5, 7, 40, *rng.integers(1, 30, size=n).tolist()]
    texts = [rng.normal(size=(k, dim)).astype(np.float32) for k in lengths]
    texts[3][1] = 0.0  # an unknown word in the middle is a zero row
    return texts


def _randomize(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def _kim(tmp_path: Path, n_classes: int = 5) -> tuple[TorchKim, Classifier]:
    torch.manual_seed(0)
    model = TorchKim(KimCNNConfig(n_classes=n_classes, dim=DIM), n_words=0, trainable_embeddings=False)
    _randomize(model, 1)
    model.eval()
    manifest = {
        "kind": "kim_cnn",
        "task": "sst-1",
        "config": vars(model.config),
        "labels": [f"c{i}" for i in range(n_classes)],
        "embedding": {"dim": DIM, "dtype": "float32", "source": "glove-50", "variant": "static"},
    }
    export_model(tmp_path / "kim", model, manifest)
    runtime = load_model(tmp_path / "kim")
    assert isinstance(runtime, Classifier)
    return model, runtime


def _torch_kim_probs(model: TorchKim, emb: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(emb)[None]
        logits = model.forward_embedded(x, torch.tensor([emb.shape[0]]))
        return torch.softmax(logits, dim=1)[0].numpy()


def test_kim_numpy_equals_torch_one_by_one_and_batched(tmp_path: Path) -> None:
    model, runtime = _kim(tmp_path)
    texts = _texts(np.random.default_rng(2), 40)
    single = np.stack([runtime.predict(t) for t in texts])
    expected = np.stack([_torch_kim_probs(model, t) for t in texts])
    np.testing.assert_allclose(single, expected, atol=1e-5, rtol=0)
    batched = runtime.predict_batch(texts)
    np.testing.assert_allclose(batched, single, atol=1e-5, rtol=0)
    # torch's own padded batch (masking in conv_max) agrees too
    lengths = torch.tensor([t.shape[0] for t in texts])
    padded = torch.zeros(len(texts), int(lengths.max()), DIM)
    for i, t in enumerate(texts):
        padded[i, : t.shape[0]] = torch.from_numpy(t)
    with torch.no_grad():
        torch_batched = torch.softmax(model.forward_embedded(padded, lengths), dim=1).numpy()
    np.testing.assert_allclose(torch_batched, expected, atol=1e-5, rtol=0)


def test_kim_parity_is_sensitive_to_the_weights(tmp_path: Path) -> None:
    """Guard against a vacuous parity test: a perturbed conv weight must change the output."""
    model, runtime = _kim(tmp_path)
    text = _texts(np.random.default_rng(3), 0)[4]
    before = runtime.predict(text)
    assert isinstance(runtime, Classifier)
    runtime.convs[0].matrix[0, 0] += 1.0  # type: ignore[attr-defined]
    assert not np.allclose(runtime.predict(text), before, atol=1e-5)
    assert np.allclose(_torch_kim_probs(model, text), before, atol=1e-5)


def test_sm_numpy_equals_torch_one_by_one_and_batched(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TorchSM(SMCNNConfig(dim=DIM), n_words=0)
    _randomize(model, 4)
    model.eval()
    manifest = {
        "kind": "sm_cnn",
        "task": "trecqa",
        "config": vars(model.config),
        "labels": ["irrelevant", "relevant"],
        "embedding": {"dim": DIM, "dtype": "float32", "source": "glove-50", "variant": "static"},
    }
    export_model(tmp_path / "sm", model, manifest)
    runtime = load_model(tmp_path / "sm")
    assert isinstance(runtime, Ranker)
    rng = np.random.default_rng(5)
    question = rng.normal(size=(9, DIM)).astype(np.float32)
    answers = _texts(rng, 30)
    single = np.array([runtime.score(question, a) for a in answers])
    with torch.no_grad():
        expected = []
        for a in answers:
            logits = model.forward_embedded(
                torch.from_numpy(question)[None], torch.tensor([question.shape[0]]),
                torch.from_numpy(a)[None], torch.tensor([a.shape[0]]),
            )
            expected.append(float(torch.softmax(logits, dim=1)[0, 1]))
    np.testing.assert_allclose(single, np.array(expected), atol=1e-5, rtol=0)
    np.testing.assert_allclose(runtime.score_batch(question, answers), single, atol=1e-5, rtol=0)
