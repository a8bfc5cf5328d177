"""Jittered exponential backoff with a deadline, for retrying one batch."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th
    retry waits ``uniform(0, min(cap, base · 2ⁿ))`` — at least what a ``Retry-After``
    asked, up to the cap — so C senders throttled together do not come back together.
    A batch is given up ``deadline_s`` after its first failed attempt."""

    base_s: float = 0.1
    cap_s: float = 10.0
    deadline_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first retry)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(attempt, 30))
        wait = self.rng.uniform(0.0, ceiling)
        if retry_after_s is not None and retry_after_s > 0:
            wait = max(wait, min(retry_after_s, self.cap_s))
        return wait
