"""The API key: x-api-key or Authorization: Bearer, 401 missing, 403 (OpenAI routes: 401) wrong."""

from __future__ import annotations

import pytest

from millicent.errors import Forbidden, Unauthorized
from millicent.runtime.api_key import check_key, presented_keys


def test_both_headers_are_read_case_insensitively() -> None:
    assert presented_keys([("X-Api-Key", "k1"), ("Authorization", "Bearer k2"),
                           ("authorization", "bearer  k3 "), ("Authorization", "Basic xyz")]) == \
        ["k1", "k2", "k3"]


@pytest.mark.parametrize("headers", [[("x-api-key", "secret")],
                                     [("Authorization", "Bearer secret")],
                                     [("authorization", "Bearer wrong"), ("x-api-key", "secret")]])
def test_the_right_key_in_either_header_passes(headers: list[tuple[str, str]]) -> None:
    check_key(headers, "secret")
    check_key(headers, "secret", openai=True)


def test_missing_is_401_wrong_is_403_or_401_on_openai_routes() -> None:
    with pytest.raises(Unauthorized):
        check_key([("content-type", "application/json")], "secret")
    with pytest.raises(Unauthorized):
        check_key([("Authorization", "Basic c2VjcmV0")], "secret")
    with pytest.raises(Forbidden):
        check_key([("Authorization", "Bearer secreT")], "secret")
    with pytest.raises(Unauthorized, match="invalid API key"):
        check_key([("Authorization", "Bearer secreT")], "secret", openai=True)
    with pytest.raises(Forbidden):  # an empty key is a wrong key
        check_key([("x-api-key", "")], "secret")


def test_undecodable_header_bytes_are_a_wrong_key_not_a_crash() -> None:
    with pytest.raises(Forbidden):
        check_key([("x-api-key", "\udcff\udcfe")], "secret")
