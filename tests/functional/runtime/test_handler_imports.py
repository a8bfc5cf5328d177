"""The handler module is cheap to import: no numpy, torch, boto3, aiohttp or tooling at import.

The platform's Init Duration (spawn → first ``/next``) is what importing the handler costs;
models and the store load inside the first invocation.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numpy", "torch", "boto3", "botocore", "redis", "aiohttp", "millicent.platform",
         "millicent.torch_models", "millicent.train", "millicent.cli", "millicent.economics",
         "millicent.harness", "millicent.analysis", "millicent.testbed", "millicent.baselines",
         "millicent.testing", "millicent.traffic", "millicent.data"]


def test_importing_the_handler_stays_lean() -> None:
    code = (
        "import sys, json; import millicent.runtime.handler as h; "
        "assert callable(h.handler); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
