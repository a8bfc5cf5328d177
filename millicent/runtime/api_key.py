"""The API key a request presents, checked in constant time.

A key comes as ``x-api-key: KEY`` (millicent's clients, API Gateway's own header) or as
``Authorization: Bearer KEY`` (what the ``openai`` client and every OpenAI-compatible tool
send). Either is accepted wherever a key is required; a missing key is 401, a wrong one 403
— or 401 on the OpenAI routes, as OpenAI answers (``invalid_api_key``). Header names are
matched case-insensitively (API Gateway's REST events keep the client's case). Stdlib only.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from millicent.errors import Forbidden, MillicentError, Unauthorized

HEADER = "x-api-key"
BEARER = "bearer "


def presented_keys(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The keys ``headers`` carry: ``x-api-key`` values and ``Authorization: Bearer`` tokens."""
    keys = []
    for name, value in headers:
        low = name.lower()
        if low == HEADER:
            keys.append(value.strip())
        elif low == "authorization" and value[:len(BEARER)].lower() == BEARER:
            keys.append(value[len(BEARER):].strip())
    return keys


def _same(given: str, expected: str) -> bool:
    # surrogateescape: a server keeps undecodable header bytes as surrogates, and a strict
    # encode of a non-UTF-8 key would raise (a 500 before any JSON answer)
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8", "surrogateescape"))


def check_key(headers: Iterable[tuple[str, str]], expected: str, openai: bool = False) -> None:
    """Nothing when ``headers`` present ``expected``; Unauthorized (missing, or wrong on the
    OpenAI routes) or Forbidden (wrong) otherwise. Every presented key is compared, each in
    constant time, so the answer's timing says nothing about which was close."""
    keys = presented_keys(headers)
    if not keys:
        raise Unauthorized("missing API key: send the header x-api-key: KEY or "
                           "Authorization: Bearer KEY")
    matches = [_same(k, expected) for k in keys]
    if not any(matches):
        error: type[MillicentError] = Unauthorized if openai else Forbidden
        raise error("invalid API key")
