"""The one exception tree of millicent.

Every error a user can cause or meet derives from :class:`MillicentError`. Each class
carries the HTTP status it maps to and the process exit code; both are decided only at
the edges (the Lambda handler, the gateway, the CLI ``main``)::

    MillicentError (500, exit 1)
    ├── InvalidInput (400, exit 2)          bad request body / arguments
    │   ├── PayloadTooLarge (413)
    │   ├── NotFound (404)                  unknown route or function
    │   └── MethodNotAllowed (405)
    ├── Unauthorized (401)                  missing API key
    ├── Forbidden (403)                     wrong API key
    ├── TooManyRequests (429)               concurrency limit reached
    ├── ConfigError (500, exit 2)           bad configuration / missing extra
    ├── DataError (500, exit 1)             missing or malformed data files
    │   └── ChecksumMismatch
    ├── ArtifactError (500, exit 1)         unreadable artifact, unknown format version
    ├── StoreError (500, exit 1)            store misuse (e.g. dimension mismatch)
    │   └── StoreUnavailable (503)          store down / throttled past the deadline
    ├── FunctionError (502)                 the execution environment crashed
    └── FunctionTimeout (504)               the invocation ran past its timeout

Library exceptions are re-raised ``from exc`` so the cause is kept.
"""

from __future__ import annotations

from typing import Any


class MillicentError(Exception):
    """Root of all millicent errors."""

    status: int = 500
    exit_code: int = 1
    #: Short machine-readable error type used in JSON error bodies.
    code: str = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready error body: ``{"error": code, "message": ..., **details}``."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        body.update(self.details)
        return body


class InvalidInput(MillicentError):
    """The request or the arguments are malformed."""

    status = 400
    exit_code = 2
    code = "invalid_input"


class PayloadTooLarge(InvalidInput):
    status = 413
    code = "payload_too_large"


class NotFound(InvalidInput):
    status = 404
    code = "not_found"


class MethodNotAllowed(InvalidInput):
    status = 405
    code = "method_not_allowed"


class Unauthorized(MillicentError):
    status = 401
    exit_code = 2
    code = "unauthorized"


class Forbidden(MillicentError):
    status = 403
    exit_code = 2
    code = "forbidden"


class TooManyRequests(MillicentError):
    status = 429
    code = "too_many_requests"


class ConfigError(MillicentError):
    """Configuration is wrong or an optional dependency (extra) is missing."""

    exit_code = 2
    code = "config_error"


class DataError(MillicentError):
    code = "data_error"


class ChecksumMismatch(DataError):
    code = "checksum_mismatch"


class ArtifactError(MillicentError):
    code = "artifact_error"


class StoreError(MillicentError):
    code = "store_error"


class StoreUnavailable(StoreError):
    """The store could not answer in time; never replaced by made-up vectors."""

    status = 503
    code = "store_unavailable"


class FunctionError(MillicentError):
    status = 502
    code = "function_error"


class FunctionTimeout(MillicentError):
    status = 504
    code = "function_timeout"


def missing_extra(module: str, extra: str) -> ConfigError:
    """The error raised when an optional dependency is not installed."""
    return ConfigError(
        f"{module} is not installed; install the extra: pip install 'millicent[{extra}]'",
        missing=module,
        extra=extra,
    )
