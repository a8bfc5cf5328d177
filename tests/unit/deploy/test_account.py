"""The account's concurrency and the reservation check, on scripted Lambda answers (pure logic:
moto has no GetAccountSettings); the published-version check of SnapStart deploys."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

from millicent.deploy.account import AccountConcurrency, check_reservation, read_account
from millicent.deploy.aws import DeployError
from millicent.deploy.bill import bill_lines
from millicent.deploy.stack import Deployment, verify_published
from millicent.deploy.template import TemplateOptions
from millicent.errors import ConfigError


def _error(code: str, message: str = "nope") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetAccountSettings")


class FakeLambda:
    def __init__(self, limit: int | None = 1000, unreserved: int = 1000, error: str | None = None,
                 alias_version: str | None = "3", code: bytes = b"zip") -> None:
        self.limit, self.unreserved, self.error = limit, unreserved, error
        self.alias_version, self.code = alias_version, code

    def get_account_settings(self):
        if self.error:
            raise _error(self.error)
        return {"AccountLimit": {"ConcurrentExecutions": self.limit,
                                 "UnreservedConcurrentExecutions": self.unreserved}}

    def get_alias(self, FunctionName, Name):
        if self.alias_version is None:
            raise _error("ResourceNotFoundException", "Alias not found")
        return {"FunctionVersion": self.alias_version, "Name": Name}

    def get_function_configuration(self, FunctionName, Qualifier):
        return {"Version": Qualifier,
                "CodeSha256": base64.b64encode(hashlib.sha256(self.code).digest()).decode()}


def test_the_account_as_read_and_its_cap() -> None:
    account = read_account(FakeLambda(1000, 850))
    assert (account.limit, account.unreserved, account.source) == (1000, 850, "GetAccountSettings")
    assert account.cap(None) == (850, "the account's unreserved concurrency (GetAccountSettings)")
    assert account.cap(5) == (5, "reserved concurrency")


def test_unreadable_account_settings() -> None:
    stated = read_account(FakeLambda(error="404"), stated=10)
    assert (stated.limit, stated.unreserved) == (10, 10) and "--account-concurrency" in stated.source
    assumed = read_account(FakeLambda(error="404"))
    assert assumed.limit == 1000 and "assumed" in assumed.source
    with pytest.raises(ConfigError, match="--account-concurrency"):
        read_account(FakeLambda(error="404"), need=True)
    with pytest.raises(ConfigError, match="check --profile"):  # no permission: a config matter
        read_account(FakeLambda(error="AccessDeniedException"), need=True)


def test_reservations_the_account_can_and_cannot_grant() -> None:
    default = AccountConcurrency(1000, 1000, "GetAccountSettings")
    check_reservation(5, default)
    check_reservation(900, default)  # 100 stay unreserved
    with pytest.raises(ConfigError, match="at most 900"):
        check_reservation(901, default)
    new_account = AccountConcurrency(10, 10, "GetAccountSettings")
    with pytest.raises(ConfigError, match=r"cannot reserve any concurrency.*quota of 10"):
        check_reservation(1, new_account)
    # an update: this function's own reservation is already out of the unreserved pool
    busy = AccountConcurrency(1000, 150, "GetAccountSettings")
    with pytest.raises(ConfigError, match="at most 50"):
        check_reservation(60, busy)
    check_reservation(60, busy, current=20)
    with pytest.raises(ConfigError, match="blocks every request"):
        check_reservation(0, default)


def test_the_alias_must_serve_the_uploaded_code() -> None:
    sha = hashlib.sha256(b"zip").hexdigest()
    logs: list[str] = []
    assert verify_published(FakeLambda(code=b"zip"), "fn", sha, logs.append) == "3"
    with pytest.raises(DeployError, match="not republished"):
        verify_published(FakeLambda(code=b"old zip"), "fn", sha, logs.append)
    assert verify_published(FakeLambda(alias_version=None), "fn", sha, logs.append) is None
    assert any("cannot verify" in line for line in logs)


def test_deploy_bill_lines_state_the_worst_case_at_the_cap() -> None:
    account = AccountConcurrency(1000, 1000, "GetAccountSettings")
    d = Deployment("s", "CREATE_COMPLETE", "b", "k", {"TableName": "t"},
                   options=TemplateOptions(memory_mb=128, reserved_concurrency=5), account=account)
    lines, summary = bill_lines(d, duration_ms=2.0, peak_qps=100.0)
    assert lines[0] == "cap in force: 5 concurrent executions (reserved concurrency)"
    x86 = 0.0000166667
    ceiling = 5 * 1000 * 3600 * (0.001 * 0.125 * x86 + 0.2e-6)
    assert summary["ceiling"]["per_hour_usd"] == pytest.approx(ceiling)
    assert summary["at_measured_duration"]["per_hour_usd"] == pytest.approx(
        5 * 500 * 3600 * (0.002 * 0.125 * x86 + 0.2e-6))
    assert summary["recommended_cap"] >= 1
    assert any("per hour" in line and "per month" in line for line in lines)
    unmeasured, _ = bill_lines(d, duration_ms=None)
    assert any("pass --duration-ms" in line for line in unmeasured)
