"""Every reader of a user's file, and the HTTP edge, fuzzed with ``hypothesis``: seeded
(derandomised, so a run is reproducible and CI stays green or red for a reason) and bounded
(a few seconds per reader). The targets and their contract are in :mod:`tests.fuzz_targets`;
``experiments/fuzz_readers.py --minutes 10`` runs the same targets unseeded for longer, and
its short version runs here too.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fuzz_targets import TARGETS, hypothesis_test
from tests.servers import REPO

#: examples per target: ≈ 1–4 s each on the 2-core development machine
EXAMPLES = {"http-edge": 150, "vectors": 250}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_reader_contract_under_fuzz(name: str) -> None:
    hypothesis_test(TARGETS[name], max_examples=EXAMPLES.get(name, 200))()


def test_the_long_fuzz_script_runs_short() -> None:
    done = subprocess.run([sys.executable, "experiments/fuzz_readers.py", "--seconds", "1",
                           "--targets", "data-csv,trace"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["targets"]) == {"data-csv", "trace"}
    assert all(t["examples"] > 0 and t["failures"] == [] for t in report["targets"].values())
