"""``millicent demo``'s in-process steps: artifacts, SQLite store, pack, accuracy check.

The whole demo (platform and benchmark included) runs in tests/integration/testbed/test_demo.py.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from millicent.cli._common import pack_option
from millicent.errors import ArtifactError
from millicent.runtime.artifact import load_artifact
from millicent.testbed import demo, demo_embed
from millicent.train.shipped import artifacts_dir


def _ctx(out: Path, data_dir: Path, stack: contextlib.ExitStack) -> demo.DemoContext:
    options = demo.DemoOptions(data_dir, out, vocab="datasets", pack_top=2000, pack_mb=None,
                               limit=25, progress=False, plots=False)
    return demo.DemoContext(options, stack)


def test_store_pack_and_check_reproduce_the_recorded_metrics(tmp_path: Path,
                                                             data_dir: Path) -> None:
    with contextlib.ExitStack() as stack:
        ctx = _ctx(tmp_path, data_dir, stack)
        for name in ("artifacts", "store", "pack", "check"):
            dict((n, f) for n, _, f in demo.STEPS)[name](ctx)
    r = ctx.results
    assert not r["store"]["reused"] and r["store"]["verified"] and r["store"]["written"] > 20_000
    assert not r["pack"]["reused"] and r["pack"]["words"] == 2000
    for fn, name in demo.DEMO_MODELS.items():
        recorded = load_artifact(artifacts_dir() / name).manifest.metrics["dev"]
        got = r["check"][fn]["metrics"]
        metric = "accuracy" if fn == "kim" else "map"
        # the served path (tokenize → pack → SQLite → numpy) reproduces the recorded metric
        assert got[metric] == pytest.approx(recorded[metric], abs=1e-12)
        assert got["n"] == recorded["n"]
        assert r["check"][fn]["latency_ms"]["n"] == 25
        assert len(ctx.built.answers[fn]) == 25
    kim_answer = ctx.built.answers["kim"][0]
    assert set(kim_answer) >= {"label_index", "probabilities", "timings"}
    # the embedder (all-MiniLM-L6-v2, int8): its token table in its own store, read from the
    # data directory's safetensors by digest, and its own pack
    fn, name = demo.DEMO_EMBEDDER
    assert name == "minilm-embed" and ctx.built.stores[fn] != ctx.built.stores["kim"]
    assert r["embed_store"]["verified"] and r["embed_store"]["written"] == 30522
    assert r["embed_store"]["vectors"].startswith("token-table:")
    assert r["embed_pack"]["words"] == demo_embed.EMBED_PACK_TOP
    zero_shot = r["check"][fn]["metrics"]
    assert zero_shot["n"] == 1148 and zero_shot["map"] > 0.65  # GloVe-50 mean: 0.63
    vectors = np.array([a["embedding"] for a in ctx.built.answers[fn]])
    assert vectors.shape == (25, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    # a rerun finds the store and the pack complete (after reading them back)
    with contextlib.ExitStack() as stack:
        again = _ctx(tmp_path, data_dir, stack)
        for name in ("artifacts", "store", "pack"):
            dict((n, f) for n, _, f in demo.STEPS)[name](again)
    assert again.results["store"]["reused"] and again.results["store"]["written"] == 0
    assert again.results["pack"]["reused"]
    assert again.results["embed_store"]["reused"] and again.results["embed_pack"]["reused"]


def test_missing_artifact_without_torch_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    monkeypatch.setattr("millicent.train.shipped.artifacts_dir", lambda: tmp_path / "none")
    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ArtifactError, match=r"torch is not installed.*millicent\[train\]"):
        demo.ensure_artifact(demo.DEMO_MODELS["kim"], tmp_path, tmp_path / "out")


def test_bad_options_are_refused_before_any_work(tmp_path: Path, data_dir: Path) -> None:
    from millicent.cli.main import main

    base = ["demo", "--data-dir", str(data_dir), "--out", str(tmp_path / "o")]
    assert main([*base, "--pack-top", "0"]) == 2
    assert main([*base, "--pack-mb", "0"]) == 2
    assert main([*base, "--limit", "0"]) == 2
    assert main([*base, "--concurrency", "5,x"]) == 2
    assert not (tmp_path / "o" / "demo.json").exists()


def test_pack_size_defaults_to_the_store_layers_budget() -> None:
    from millicent.cli.main import build_parser
    from millicent.store.pack import DEFAULT_PACK_MB

    assert pack_option(None, None) == (None, DEFAULT_PACK_MB)
    assert pack_option(None, 2.5) == (None, 2.5)
    assert pack_option(500, None) == (500, None)
    # the help of both verbs names the store layer's default (they cannot import numpy to
    # read it at registration)
    sub = next(a for a in build_parser()._actions if a.dest == "verb").choices
    for verb in ("demo", "bench"):
        text = next(a for a in sub[verb]._actions if a.dest == "pack_mb").help
        assert f"default {DEFAULT_PACK_MB:g} MiB, millicent.store.pack.DEFAULT_PACK_MB" in text
