"""Eager INIT: the handler module builds models and store while it is imported inside an
execution environment, reports the build once, and registers the snapshot hooks; the
after-restore hook leaves a working store in a forked copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.config import FunctionConfig, Limits
from millicent.errors import ConfigError
from millicent.runtime.environment import FunctionEnvironment, open_store
from millicent.runtime.handler import handle
from millicent.store import open_store as open_url
from tests.conftest import REPO

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"
WORDS = ["a", "charming", "journey", "!", "the"]


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    from millicent.store.loader import load_store

    rng = np.random.default_rng(0)
    with open_url(url) as store:
        load_store(store, WORDS, rng.normal(size=(len(WORDS), 50)).astype(np.float32),
                   source="test", progress=False)
    return url


def _env(url: str) -> FunctionEnvironment:
    config = FunctionConfig(models=(("kim", str(KIM)),), store_url=url, pack_path=None,
                            lru_size=100, store_deadline_s=1.0, limits=Limits())
    return FunctionEnvironment(config=lambda: config)


def _classify(env: FunctionEnvironment, text: str = "a charming journey !") -> dict[str, Any]:
    return handle({"sentence": text}, None, env)  # type: ignore[no-any-return]


def test_init_is_reported_once_outside_the_first_invocation(sqlite_url: str) -> None:
    env = _env(sqlite_url)
    ms = env.init()
    assert ms > 0
    first, second = _classify(env)["timings"], _classify(env)["timings"]
    assert first["cold_start"] and first["init"] == "eager" and first["init_ms"] == round(ms, 4)
    # the build is not inside the invocation: other_ms is not reduced by it
    assert first["total_ms"] >= first["other_ms"] >= 0
    assert not second["cold_start"] and "init" not in second and "init_ms" not in second


def test_lazy_build_is_inside_the_first_invocation(sqlite_url: str) -> None:
    env = _env(sqlite_url)
    t = _classify(env)["timings"]
    assert t["init"] == "lazy" and t["total_ms"] >= t["init_ms"] > 0


def _import_handler(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, sys, snapshot_restore_py as s, millicent.runtime.handler as h\n"
        "loaded = h.ENVIRONMENT.ready\n"
        "names = [getattr(f, '__name__', '') for f, *_ in s.get_before_snapshot() + s.get_after_restore()]\n"
        "heavy = [m for m in ('torch', 'boto3', 'redis', 'onnxruntime', 'millicent.cli') if m in sys.modules]\n"
        "primed = 'millicent.runtime.responses' in sys.modules\n"
        "print(json.dumps({'ready': loaded, 'hooks': names, 'heavy': heavy, 'primed': primed}))\n"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MILLICENT_", "AWS_LAMBDA"))}
    full.update(env, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, cwd=REPO, timeout=60)


def test_importing_the_handler_in_an_environment_runs_init_and_registers_hooks(sqlite_url: str) -> None:
    out = _import_handler({"AWS_LAMBDA_FUNCTION_NAME": "kim", "MILLICENT_MODELS": f"kim={KIM}",
                           "MILLICENT_STORE_URL": sqlite_url})
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    # primed: a first request was served during INIT (its modules are loaded)
    assert probe == {"ready": True, "hooks": ["before_snapshot", "after_restore"], "heavy": [],
                     "primed": True}


def test_lazy_mode_builds_nothing_at_import(sqlite_url: str) -> None:
    out = _import_handler({"AWS_LAMBDA_FUNCTION_NAME": "kim", "MILLICENT_MODELS": f"kim={KIM}",
                           "MILLICENT_STORE_URL": sqlite_url, "MILLICENT_INIT": "lazy"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ready"] is False


def test_a_failed_init_fails_the_import_with_a_clear_message(tmp_path: Path) -> None:
    out = _import_handler({"AWS_LAMBDA_FUNCTION_NAME": "kim", "MILLICENT_MODELS": f"kim={KIM}",
                           "MILLICENT_STORE_URL": f"sqlite:///{tmp_path / 'absent.db'}"})
    assert out.returncode != 0
    assert "absent.db" in out.stderr and "StoreError" in out.stderr


def test_an_unknown_init_mode_is_a_config_error(sqlite_url: str) -> None:
    out = _import_handler({"AWS_LAMBDA_FUNCTION_NAME": "kim", "MILLICENT_MODELS": f"kim={KIM}",
                           "MILLICENT_STORE_URL": sqlite_url, "MILLICENT_INIT": "sometimes"})
    assert out.returncode != 0 and "MILLICENT_INIT" in out.stderr
    with pytest.raises(ConfigError):
        from millicent.config import init_mode

        init_mode({"MILLICENT_INIT": "sometimes"})


def test_after_restore_gives_a_forked_copy_a_working_store(sqlite_url: str) -> None:
    env = _env(sqlite_url)
    env.init()
    want = _classify(env)
    env.before_snapshot()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the restored copy
        try:
            os.close(read)
            env.after_restore()
            got = _classify(env, "a charming journey !")
            os.write(write, json.dumps({"timings": got["timings"], "probabilities": got["probabilities"]}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = json.loads(f.read() or "{}")
    os.waitpid(pid, 0)
    assert child["probabilities"] == want["probabilities"]
    assert child["timings"]["init"] == "restore" and child["timings"]["cold_start"]
    # the parent still works after the child used its own connection
    assert _classify(env)["probabilities"] == want["probabilities"]


def test_default_store_builder_needs_a_store_url() -> None:
    config = FunctionConfig(models=(("kim", str(KIM)),), store_url=None, pack_path=None,
                            lru_size=0, store_deadline_s=1.0, limits=Limits())
    with pytest.raises(ConfigError, match="MILLICENT_STORE_URL"):
        open_store(config)

