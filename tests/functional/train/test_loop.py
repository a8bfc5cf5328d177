"""The training loop keeps the best-dev epoch, averages weights on request, and is seeded."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from millicent.train.loop import Schedule, _Shadow, fit, pad_ids, seed_everything  # noqa: E402

pytestmark = pytest.mark.train


def _problem(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer, np.random.Generator, torch.Tensor, torch.Tensor]:
    rng = seed_everything(seed, threads=1)
    x = torch.randn(64, 3)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.5), rng, x, y


def test_fit_restores_the_best_dev_epoch() -> None:
    model, opt, rng, x, y = _problem(0)
    scores = iter([0.1, 0.7, 0.3, 0.2])
    snapshots = []

    def dev() -> float:
        snapshots.append(model.weight.detach().clone())
        return next(scores)

    def loss_on(ix: np.ndarray) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(x[ix]), y[ix])

    result = fit(model, opt, 64, Schedule(16, 4), rng, loss_on, dev)
    assert result.best_epoch == 2 and result.best_score == 0.7
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert torch.equal(model.weight, snapshots[1])
    assert not torch.equal(model.weight, snapshots[3])


def test_same_seed_same_weights_and_ema_is_scored() -> None:
    weights = []
    for _ in range(2):
        model, opt, rng, x, y = _problem(3)

        def loss_on(ix: np.ndarray, model: torch.nn.Module = model, x: torch.Tensor = x,
                    y: torch.Tensor = y) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(model(x[ix]), y[ix])

        fit(model, opt, 64, Schedule(16, 2, ema=0.9), rng, loss_on, lambda: 0.5)
        weights.append(model.weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_shadow_is_an_exponential_moving_average() -> None:
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
    shadow = _Shadow(model, decay=0.75)
    with torch.no_grad():
        model.weight.fill_(3.0)
    shadow.update()
    trained = shadow.swap_in()
    assert torch.allclose(model.weight, torch.full((1, 2), 0.75 * 1.0 + 0.25 * 3.0))
    assert torch.equal(trained["weight"], torch.full((1, 2), 3.0))


def test_pad_ids() -> None:
    ids, lengths = pad_ids([[1, 2, 3], [4]])
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and lengths.tolist() == [3, 1]
