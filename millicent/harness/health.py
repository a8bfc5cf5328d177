"""What the function under test says about itself before a benchmark: its ``/health``.

A bench run records it in ``plan.json`` (``function``) once its requests are done (so the
health check never takes a cold start the benchmark meant to measure), and what later reads
the run knows
what served it — above all the frequent-word pack it bundled, whose words never reach the
store (``millicent plan --from-bench`` prices the store reads with it). Best effort: a
function that does not answer is recorded as such, and the benchmark runs all the same.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from millicent.harness.closed_loop import ClientOptions

#: seconds to wait for ``/health`` (a cold start included)
HEALTH_TIMEOUT_S = 15.0


def function_info(endpoint: str, client: ClientOptions | None = None) -> dict[str, Any]:
    """``{"pack": ... | None, "models": [...]}`` from ``GET /health``, or
    ``{"unavailable": why}``."""
    url = endpoint.rstrip("/") + "/health"
    headers = dict(client.headers) if client is not None else {}
    try:
        if client is not None and client.signer is not None:
            headers = client.signer.sign("GET", url, b"", headers)
        request = urllib.request.Request(url, headers=headers, method="GET")
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_S) as response:
            body = json.loads(response.read(1 << 20))
    except (OSError, ValueError, urllib.error.URLError) as exc:
        return {"unavailable": f"GET {url}: {exc}"[:300]}
    except Exception as exc:  # a signer's credentials error: the run goes on without it
        return {"unavailable": f"GET {url}: {type(exc).__name__}: {exc}"[:300]}
    if not isinstance(body, dict) or "pack" not in body:
        return {"unavailable": f"GET {url}: the answer does not describe the pack"}
    return {"pack": body["pack"] if isinstance(body["pack"], dict) else None,
            "models": body.get("models") if isinstance(body.get("models"), list) else []}
