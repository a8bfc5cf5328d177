"""The store layer ships inside the function: stdlib + numpy; boto3 / redis only when their
backend is opened, and a missing one names the extra to install."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import REPO


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_store_modules_import_no_optional_client() -> None:
    """Every module of the store package, the backends included: their clients are imported
    when a store is opened, not when the module is."""
    r = run(
        "import importlib, pkgutil, sys\n"
        "import millicent.store as pkg\n"
        "names = [importlib.import_module(m.name).__name__\n"
        "         for m in pkgutil.iter_modules(pkg.__path__, 'millicent.store.')]\n"
        "assert 'millicent.store.dynamodb' in names and 'millicent.store.redis' in names\n"
        "bad = [m for m in ('boto3', 'botocore', 'redis', 'torch', 'aiohttp') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    assert r.returncode == 0, r.stderr


def test_missing_extra_is_named() -> None:
    code = (
        "import sys\n"
        "sys.modules['{mod}'] = None  # as if not installed\n"
        "from millicent.errors import ConfigError\n"
        "from millicent.store import open_store\n"
        "try:\n"
        "    open_store('{url}')\n"
        "except ConfigError as e:\n"
        "    print(e.message)\n"
    )
    r = run(code.format(mod="botocore", url="dynamodb://tbl?endpoint=http://127.0.0.1:1"))
    assert "pip install 'millicent[aws]'" in r.stdout, r.stderr
    r = run(code.format(mod="redis", url="redis://127.0.0.1:1/0"))
    assert "pip install 'millicent[redis]'" in r.stdout, r.stderr
