"""Seeded random requests on the gateway and the Invoke API: whatever the body — random
bytes, truncated JSON, any JSON shape holding the API's field names, odd Unicode, lone
surrogates, huge numbers — the answer is a 200 or a 4xx with a JSON error that has a
message, never a 5xx, and no environment dies. (The corpus names the cases; this looks
between them.)"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess
from tests.reliability.corpus import from_http, from_invoke

pytestmark = pytest.mark.integration

FIELDS = ["sentence", "input", "question", "answer", "answers", "sent1", "sent2", "model", "x"]
PIECES = ["a", "film", " ", "\u0000", "\ud800", "é", "🙂", "\\", '"', "'", ".", "-lrb-", "``", "n't",
          "\u200b", "\t", "\n", "%", "$", "…", "—", "ǅ", "İ", "ß", "\u0301", "ﬁ", "Ⅻ", "١",
          "\U0001f1fa\U0001f1f8", "\x7f", "\u2028", "'s", "--", "...", "?!", "\ufffd", "\uffff",
          "\U0010ffff"]
PATHS = ["/classify", "/rank", "/kim", "/sm", "/health", "/2015-03-31/functions/kim/invocations",
         "/2015-03-31/functions/sm/invocations"]
HANDLER_ERRORS = {"InvalidInput", "NotFound", "PayloadTooLarge", "MethodNotAllowed"}


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self, n: int | None = None) -> str:
        n = self.rng.randint(0, 30) if n is None else n
        return "".join(self.rng.choice(PIECES) for _ in range(n))

    def value(self, depth: int = 0) -> Any:
        k = self.rng.randint(0, 8 if depth < 3 else 4)
        if k == 0:
            return self.text()
        if k == 1:
            return self.rng.randint(-10**20, 10**20)
        if k == 2:
            return self.rng.random() * 10 ** self.rng.randint(-300, 300)
        if k == 3:
            return None
        if k == 4:
            return self.rng.choice([True, False])
        if k in (5, 6):
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        return {self.rng.choice(FIELDS) if self.rng.random() < 0.7 else self.text(4): self.value(depth + 1)
                for _ in range(self.rng.randint(0, 4))}

    def body(self) -> bytes:
        if self.rng.random() < 0.15:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 60)))
        obj: Any = {f: self.value(1) if self.rng.random() < 0.5 else self.text()
                    for f in self.rng.sample(FIELDS, self.rng.randint(0, 4))}
        if self.rng.random() < 0.3:
            obj = self.value()
        raw = json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")
        if self.rng.random() < 0.1:
            raw = raw[: self.rng.randint(0, len(raw))]
        return raw

    def request(self) -> tuple[str, str, dict[str, str], bytes]:
        headers = {}
        if self.rng.random() < 0.5:
            headers["Content-Type"] = self.rng.choice(
                ["application/json", "text/plain", "application/octet-stream", "image/png",
                 "application/json; charset=latin-1"])
        method = self.rng.choice(["POST"] * 8 + ["GET", "PUT"])
        return method, self.rng.choice(PATHS), headers, self.body()


def test_random_requests_never_get_a_5xx(platform: PlatformProcess) -> None:
    assert platform.post("/classify", {"sentence": "warm ."}).status == 200
    assert platform.post("/rank", {"question": "warm ?", "answer": "up ."}).status == 200
    pids = sorted(platform.env_pids())
    before = platform.stats()["by_status"]
    fuzz = Fuzzer(20261129)
    statuses: dict[int, int] = {}
    for _ in range(500):
        method, path, headers, body = fuzz.request()
        reply = platform.request(method, path, body, headers=headers)
        if "/invocations" in path and reply.status < 400:
            out = from_invoke(reply.status, reply.headers, reply.body)
            if out.function_error:
                assert out.body["errorType"] in HANDLER_ERRORS, (path, body[:200], reply.body[:300])
        else:
            out = from_http(reply.status, reply.body)
        assert out.status < 500, (method, path, headers, body[:200], reply.body[:300])
        if out.status >= 400 and reply.status != 405 and "/invocations" not in path:
            assert out.error and out.message, (method, path, body[:200], reply.body[:300])
        statuses[out.status] = statuses.get(out.status, 0) + 1
    assert statuses.get(200, 0) >= 10 and statuses.get(400, 0) >= 100, statuses
    after = platform.stats()["by_status"]
    assert sorted(platform.env_pids()) == pids
    for status in ("crash", "timeout", "init_error"):
        assert after.get(status, 0) == before.get(status, 0)
