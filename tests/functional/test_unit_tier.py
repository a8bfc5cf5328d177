"""The unit tier needs no aiohttp: importing every one of its modules, in a fresh
interpreter, loads none (the unit tier's conftest also makes ``import aiohttp`` fail while
its tests run, so a lazy import is caught there)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

PROBE = r"""
import importlib, json, pathlib, sys
root = pathlib.Path("tests/unit")
names = sorted(".".join(p.with_suffix("").parts) for p in root.rglob("*.py"))
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "aiohttp": sorted(m for m in sys.modules
                                                     if m.split(".")[0] == "aiohttp")}))
"""


def test_importing_the_unit_tier_loads_no_aiohttp() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         cwd=REPO, timeout=120, check=True)
    probe = json.loads(out.stdout)
    assert "tests.unit.conftest" in probe["modules"] and len(probe["modules"]) > 40
    assert probe["aiohttp"] == []
