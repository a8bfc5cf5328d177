"""The account's Lambda concurrency: what a reservation may take, and the cap in force.

``GetAccountSettings`` gives the account's regional limit (``ConcurrentExecutions``) and
what no function has reserved (``UnreservedConcurrentExecutions``). Lambda always keeps
:data:`~millicent.economics.worstcase.UNRESERVED_MINIMUM` (100) executions unreserved, so a
function may reserve at most ``unreserved + its current reservation − 100`` — nothing at all
on a new account whose quota is 10. ``deploy`` checks this *before* creating anything.
Without a reservation the function can use the unreserved pool: that is its cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millicent.deploy.aws import AwsError, call
from millicent.economics.worstcase import AWS_DEFAULT_ACCOUNT_CONCURRENCY, UNRESERVED_MINIMUM
from millicent.errors import ConfigError


@dataclass(frozen=True)
class AccountConcurrency:
    """The account's concurrency as read (or as stated with ``--account-concurrency``)."""

    limit: int
    unreserved: int
    source: str  #: "GetAccountSettings", "--account-concurrency", or an assumption

    def cap(self, reserved: int | None) -> tuple[int, str]:
        """The cap in force for a function: its reservation, else the unreserved pool."""
        if reserved is not None:
            return reserved, "reserved concurrency"
        return self.unreserved, f"the account's unreserved concurrency ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "unreserved": self.unreserved, "source": self.source}


def read_account(lam: Any, stated: int | None = None,
                 need: bool = False) -> AccountConcurrency:
    """``GetAccountSettings``; ``stated`` (``--account-concurrency``) when it cannot be read.

    ``need``: a reservation is to be checked, so an unreadable account without a stated
    limit is a ConfigError rather than an assumption.
    """
    try:
        limits = call("lambda get-account-settings", lam.get_account_settings)["AccountLimit"]
        return AccountConcurrency(int(limits["ConcurrentExecutions"]),
                                  int(limits["UnreservedConcurrentExecutions"]), "GetAccountSettings")
    except (AwsError, KeyError, TypeError) as exc:
        why = (_short(exc.message) if isinstance(exc, AwsError)
               else f"GetAccountSettings: unexpected answer: {exc!r}")
        if stated is not None:
            return AccountConcurrency(stated, stated, f"--account-concurrency; {why}")
        if need:
            raise ConfigError(f"cannot check the reservation against the account's limits ({why}); "
                              "allow lambda:GetAccountSettings, or state the account's "
                              "concurrency limit with --account-concurrency N") from exc
        return AccountConcurrency(AWS_DEFAULT_ACCOUNT_CONCURRENCY, AWS_DEFAULT_ACCOUNT_CONCURRENCY,
                                  f"AWS's default quota assumed; {why}")


def _short(message: str, limit: int = 120) -> str:
    """The first line of an AWS error, bounded (an endpoint may answer with a whole page)."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return first if len(first) <= limit else first[:limit] + "…"


def current_reservation(lam: Any, function_name: str | None) -> int:
    """The function's reserved concurrency today (0 when none, or no function yet)."""
    if not function_name:
        return 0
    try:
        got = call("lambda get-function-concurrency", lam.get_function_concurrency,
                   FunctionName=function_name)
    except AwsError:
        return 0
    return int(got.get("ReservedConcurrentExecutions") or 0)


def check_reservation(reserved: int, account: AccountConcurrency, current: int = 0) -> None:
    """ConfigError when the account cannot grant ``reserved`` executions to this function."""
    if reserved < 1:
        raise ConfigError("a reserved concurrency of 0 blocks every request to the function on "
                          "AWS; leave --reserved-concurrency out for no reservation")
    grantable = account.unreserved + current - UNRESERVED_MINIMUM
    if reserved <= grantable:
        return
    seen = (f"the account's concurrency limit is {account.limit} and {account.unreserved} "
            f"executions are unreserved ({account.source})")
    if grantable < 1:
        raise ConfigError(
            f"--reserved-concurrency {reserved} refused: the account cannot reserve any "
            f"concurrency: {seen}, and AWS keeps {UNRESERVED_MINIMUM} unreserved (new accounts may "
            "have a quota of 10). Request a higher 'Concurrent executions' quota in Service "
            "Quotas, or deploy without --reserved-concurrency (the account's limit is then the cap)")
    raise ConfigError(
        f"--reserved-concurrency {reserved} refused: the account can reserve at most {grantable} "
        f"for this function: {seen}, and AWS keeps {UNRESERVED_MINIMUM} unreserved")
