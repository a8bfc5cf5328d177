"""An independent SigV4 check (AWS's published algorithm with hashlib/hmac, not botocore), so
the signing tests verify botocore's signatures rather than compare botocore with itself."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
                   r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature_ok(method: str, url: str, headers: Mapping[str, str], body: bytes, secret: str,
                 region: str, service: str = "lambda") -> bool:
    """Whether ``headers["Authorization"]`` is a valid SigV4 signature of this request."""
    h = {k.lower(): v for k, v in headers.items()}
    m = _AUTH.fullmatch(h.get("authorization", ""))
    if m is None or "x-amz-date" not in h:
        return False
    date, scope_region, scope_service, terminal = m["scope"].split("/")
    if (scope_region, scope_service, terminal) != (region, service, "aws4_request"):
        return False
    parts = urlsplit(url)
    signed = m["signed"].split(";")
    h.setdefault("host", parts.netloc)
    canonical_headers = "".join(f"{name}:{' '.join(h[name].split())}\n" for name in signed)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                     for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    canonical = "\n".join([method, quote(parts.path or "/", safe="/-_.~"), query, canonical_headers,
                           m["signed"], hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", h["x-amz-date"], m["scope"],
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), "aws4_request")
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), m["sig"])
