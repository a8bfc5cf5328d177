"""SigV4-signed requests to what was deployed with ``--auth iam`` (an ``AWS_IAM`` Function URL).

One small signer for every tool that calls an endpoint — ``millicent invoke``, the bench
HTTP client, the batch runner: botocore's own :class:`~botocore.auth.SigV4Auth` (service
``lambda``, the URL's region) over the method, URL, headers and body, with the credentials
of a boto3 session (``--profile``). Credentials are read at every signature, so a refreshed
role session keeps working through a long benchmark.

Whether to sign: ``--sigv4``, or automatically when a deployment record
(:mod:`millicent.deploy.record`) of the endpoint says its auth is ``iam``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from millicent.errors import ConfigError, missing_extra

#: Function URLs: https://<url-id>.lambda-url.<region>.on.aws/
_URL_REGION = re.compile(r"\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
SERVICE = "lambda"


def region_from_url(url: str) -> str | None:
    """The region of a Lambda Function URL (None for any other host)."""
    m = _URL_REGION.search(urlsplit(url).hostname or "")
    return m.group(1) if m else None


class SigV4Signer:
    """Signs requests for one region with a boto3 session's credentials."""

    def __init__(self, region: str, profile: str | None = None, credentials: Any = None) -> None:
        try:
            import boto3
            from botocore.auth import SigV4Auth
        except ImportError as exc:  # pragma: no cover - the aws extra is part of dev
            raise missing_extra("boto3", "aws") from exc
        from botocore.exceptions import ProfileNotFound

        if credentials is None:
            try:
                credentials = boto3.Session(profile_name=profile, region_name=region).get_credentials()
            except ProfileNotFound as exc:
                raise ConfigError(f"AWS profile {profile!r} not found; check --profile") from exc
        if credentials is None:
            raise ConfigError("signing with SigV4 needs AWS credentials: pass --profile NAME or set "
                              "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
        self.region = region
        self._credentials = credentials
        self._auth = SigV4Auth

    def sign(self, method: str, url: str, body: bytes = b"",
             headers: Mapping[str, str] | None = None) -> dict[str, str]:
        """The headers to send: ``headers`` plus ``Authorization``, ``X-Amz-Date`` (and the
        session token of temporary credentials)."""
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        frozen = self._credentials.get_frozen_credentials()  # refreshed when it expires
        self._auth(frozen, SERVICE, self.region).add_auth(request)
        return {k: str(v) for k, v in request.headers.items()}


def signer_for(url: str, region: str | None = None, profile: str | None = None) -> SigV4Signer:
    """A signer for ``url``: the given region, else the Function URL's own."""
    where = region or region_from_url(url)
    if where is None:
        raise ConfigError(f"cannot tell the AWS region of {url}: pass --region")
    return SigV4Signer(where, profile)


def resolve_signer(endpoint: str, sigv4: bool = False, deployment: str | None = None,
                   region: str | None = None, profile: str | None = None) -> SigV4Signer | None:
    """The signer a tool calling ``endpoint`` needs, or None: ``--sigv4``, else the
    deployment record (``--deployment FILE``, or the one whose endpoint this is) when it
    says ``auth: iam``. ``--region`` / ``--profile`` override the record's."""
    from millicent.deploy.record import find_record, read_record

    record = read_record(deployment) if deployment else find_record(endpoint)
    if not sigv4 and (record is None or record.get("auth") != "iam"):
        return None
    rec = record or {}
    return signer_for(endpoint, region or rec.get("region"), profile or rec.get("profile"))
