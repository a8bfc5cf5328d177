"""AWS access for the tools: one boto3 session per target, and AWS errors made readable.

``AwsTarget`` says where (region, credentials profile, and for tests an endpoint such as
moto's server); :class:`Aws` opens clients there and turns a missing profile or missing
credentials into a :class:`~millicent.errors.ConfigError` naming ``--profile``; :func:`call`
runs one API call and re-raises AWS's error with its code and message. boto3 is imported
only when a session is opened (extra ``aws``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from millicent.errors import ConfigError, MillicentError, missing_extra

#: error codes that mean "these credentials may not do this": a configuration problem
_DENIED = {"InvalidClientTokenId", "ExpiredToken", "UnrecognizedClientException",
           "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException"}


class AwsError(MillicentError):
    """An AWS call failed (the message carries AWS's error code and message)."""

    code = "aws_error"


class DeployError(AwsError):
    """The stack could not be created, updated or deleted."""

    code = "deploy_error"


@dataclass(frozen=True)
class AwsTarget:
    """Where: region, credentials profile and (for tests) a custom endpoint."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - the aws extra is part of dev
        raise missing_extra("boto3", "aws") from exc
    return boto3


class Aws:
    """boto3 clients for one :class:`AwsTarget`, with credential errors made readable."""

    def __init__(self, where: AwsTarget) -> None:
        boto3 = _boto3()
        from botocore.exceptions import ProfileNotFound

        try:
            self.session = boto3.Session(profile_name=where.profile, region_name=where.region)
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile {where.profile!r} not found in ~/.aws/config; "
                              f"check --profile") from exc
        if self.session.get_credentials() is None:
            raise ConfigError(
                "no AWS credentials found: pass --profile NAME (a profile in ~/.aws/config), "
                "or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            )
        self.where = where

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.where.region,
                                   endpoint_url=self.where.endpoint_url)

    def store_url(self, table: str) -> str:
        url = f"dynamodb://{table}?region={self.where.region}"
        if self.where.endpoint_url:
            url += f"&endpoint={self.where.endpoint_url}"
        return url


def call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a boto3 call; AWS errors become AwsError / ConfigError with the AWS message."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    try:
        return fn(**kwargs)
    except NoCredentialsError as exc:
        raise ConfigError(f"{what}: no AWS credentials; pass --profile NAME") from exc
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, message = err.get("Code", "?"), err.get("Message", str(exc))
        if code in _DENIED:
            raise ConfigError(f"{what}: {code}: {message} (check --profile and its permissions)") from exc
        raise AwsError(f"{what}: {code}: {message}", aws_code=code) from exc
    except (BotoCoreError, ResponseParserError) as exc:
        raise AwsError(f"{what}: {exc}") from exc
