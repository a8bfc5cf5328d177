"""Sending one batch: a POST of ``{"sentences": [...]}``, and its retries.

At most C requests are in flight across the whole job (one shared semaphore; the
connection pool has C connections). :meth:`Sender.answer` retries a batch that met a 429,
a 5xx or no answer with jittered backoff (:mod:`.backoff`) until its deadline, then gives
up — stopping the job, resumable, rather than writing errors for texts nobody refused. A
multi-text batch on which the function failed (502 / 504) :data:`SPLIT_AFTER` times in a
row is split instead, so a text that crashes the function is cornered in a batch of its
own, and named when the job stops.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from millicent.batch.backoff import Backoff
from millicent.batch.outcome import Answered, Fatal, Outcome, Refused, Retry, Split, classify
from millicent.batch.tally import Tally
from millicent.errors import ConfigError, MillicentError
from millicent.harness.records import RequestRecord, apply_response
from millicent.runtime.requests import sentences_body

if TYPE_CHECKING:
    import aiohttp

SPLIT_AFTER = 3


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: rare, and the backoff's own delay is fine
        return None


class Sender:
    """Posts batches of texts to one URL; one per job."""

    def __init__(self, session: aiohttp.ClientSession, url: str, in_flight: asyncio.Semaphore,
                 backoff: Backoff, tally: Tally, timeout_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.session = session
        self.url = url
        self.in_flight = in_flight
        self.backoff = backoff
        self.tally = tally
        self.timeout_s = timeout_s
        self.clock = clock
        self.sleep = sleep

    async def post(self, texts: list[str]) -> Outcome:
        """One request; its outcome (every answer is accounted in the tally)."""
        import aiohttp

        body = json.dumps(sentences_body(texts), ensure_ascii=False).encode("utf-8")
        rec = RequestRecord(index=0, phase="measure", sent_s=0.0, latency_ms=0.0, status=0,
                            in_flight=0)
        async with self.in_flight:
            t0 = time.perf_counter()
            try:
                async with self.session.post(
                        self.url, data=body, headers={"content-type": "application/json"},
                        timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                    raw = await resp.read()
                    rec.status, headers = resp.status, resp.headers
            except TimeoutError:
                return classify(0, None, len(texts), f"no answer within {self.timeout_s:g} s")
            except aiohttp.ClientError as exc:
                return classify(0, None, len(texts), f"{type(exc).__name__}: {exc}")
            rec.latency_ms = (time.perf_counter() - t0) * 1000.0
        text = raw.decode("utf-8", "replace")
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = None
        apply_response(rec, dict(headers), decoded)
        outcome = classify(rec.status, decoded, len(texts), text, _retry_after(headers))
        self.tally.answer(rec, len(texts) if isinstance(outcome, Answered) else 0)
        return outcome

    async def answer(self, texts: list[str]) -> Answered | Refused | Split:
        """The batch's answer, retried as the module docstring says.

        Raises ConfigError for an answer no retry can change (a wrong URL, function or
        API key) and MillicentError when the batch's retry deadline passed.
        """
        first_failure: float | None = None
        attempt = failed_in_a_row = 0
        while True:
            outcome = await self.post(texts)
            if isinstance(outcome, Fatal):
                raise ConfigError(f"the endpoint refused the batch: {outcome.reason}",
                                  status=outcome.status)
            if not isinstance(outcome, Retry):
                return outcome
            now = self.clock()
            first_failure = now if first_failure is None else first_failure
            attempt += 1
            failed_in_a_row = failed_in_a_row + 1 if outcome.function_failed else 0
            if len(texts) > 1 and failed_in_a_row >= SPLIT_AFTER:
                self.tally.splits += 1
                return Split(None, f"the function failed {failed_in_a_row} times: {outcome.reason}")
            wait = self.backoff.delay(attempt, outcome.retry_after_s)
            if now + wait - first_failure > self.backoff.deadline_s:
                raise MillicentError(
                    f"gave up after {attempt} attempts in {now - first_failure:.0f} s "
                    f"(--retry-deadline {self.backoff.deadline_s:g}); the last: {outcome.reason}",
                    status=outcome.status)
            self.tally.retry(outcome.status)
            await self.sleep(wait)
