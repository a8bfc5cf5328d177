"""SigV4 for an AWS_IAM Function URL: the signer, ``invoke`` and the bench client against a
loopback server that verifies every signature with an independent implementation of AWS's
algorithm (tests/sigv4_check.py) and answers 403 otherwise, as Lambda does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.deploy.record import write_record
from millicent.deploy.signing import SigV4Signer, region_from_url, resolve_signer
from millicent.errors import ConfigError
from millicent.harness.closed_loop import ClientOptions, run_closed_loop
from millicent.harness.workload import classify_requests
from tests.functional.bench_contract_server import ContractServer, ThreadedServer
from tests.sigv4_check import signature_ok

REGION = "eu-west-1"
SECRET = "testing"  # the dummy credentials tests/conftest.py sets


def _verifier(method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    return signature_ok(method, url, headers, body, SECRET, REGION)


def test_the_signer_signs_what_aws_checks() -> None:
    signer = SigV4Signer(REGION)
    url = "https://abcdefghij.lambda-url.eu-west-1.on.aws/classify?x=1"
    body = b'{"sentence": "a fine film"}'
    headers = signer.sign("POST", url, body, {"content-type": "application/json"})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/lambda/aws4_request" in headers["Authorization"]
    assert signature_ok("POST", url, headers, body, SECRET, REGION)
    # the check can fail: another body, another region, another secret
    assert not signature_ok("POST", url, headers, body + b" ", SECRET, REGION)
    assert not signature_ok("POST", url, headers, body, SECRET, "us-east-1")
    assert not signature_ok("POST", url, headers, body, "other", REGION)
    assert region_from_url(url) == "eu-west-1" and region_from_url("http://127.0.0.1:9000") is None


def test_when_to_sign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = "https://abcdefghij.lambda-url.eu-west-1.on.aws/"
    assert resolve_signer(url) is None  # no record, no --sigv4
    assert resolve_signer(url, sigv4=True).region == "eu-west-1"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="--region"):
        resolve_signer("http://127.0.0.1:1", sigv4=True)
    write_record(tmp_path / "runs" / "deploy" / "s.json",
                 {"stack": "s", "endpoint": url, "auth": "iam", "region": "eu-west-1"})
    signer = resolve_signer(url.rstrip("/"))
    assert signer is not None and signer.region == "eu-west-1"
    write_record(tmp_path / "runs" / "deploy" / "s.json", {"stack": "s", "endpoint": url, "auth": "none"})
    assert resolve_signer(url) is None


def test_invoke_signs_with_sigv4_and_from_the_deployment_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    contract = ContractServer(verify=_verifier)
    with ThreadedServer(contract) as srv:
        assert main(["invoke", "--endpoint", srv.endpoint, "--sentence", "a fine film"]) == 1
        assert contract.rejected == 1 and "HTTP 403" in capsys.readouterr().err
        assert main(["invoke", "--endpoint", srv.endpoint, "--sentence", "a fine film",
                     "--sigv4", "--region", REGION]) == 0
        assert json.loads(capsys.readouterr().out)["label"] == "positive"
        # automatic: the record `millicent deploy` wrote says auth iam
        write_record(tmp_path / "runs" / "deploy" / "it.json",
                     {"stack": "it", "endpoint": srv.endpoint, "auth": "iam", "region": REGION})
        assert main(["invoke", "--endpoint", srv.endpoint, "--question", "who ?",
                     "--answer", "me .", "--answer", "you ."]) == 0
    assert contract.rejected == 1


def test_the_bench_client_signs_every_request() -> None:
    contract = ContractServer(verify=_verifier)
    plan = classify_requests([f"sentence {i}" for i in range(20)])
    with ThreadedServer(contract) as srv:
        signed = asyncio.run(run_closed_loop(
            srv.endpoint, plan, 4, measured=range(20),
            options=ClientOptions(signer=SigV4Signer(REGION))))
        unsigned = asyncio.run(run_closed_loop(srv.endpoint, plan, 4, measured=range(5)))
    assert len(signed) == 20 and all(r.ok for r in signed)
    assert all(r.status == 403 for r in unsigned) and contract.rejected == 5


def test_bench_cli_signs_from_the_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    contract = ContractServer(verify=_verifier)
    with ThreadedServer(contract) as srv:
        write_record(tmp_path / "runs" / "deploy" / "it.json",
                     {"stack": "it", "endpoint": srv.endpoint, "auth": "iam", "region": REGION})
        assert main(["bench", "--endpoint", srv.endpoint, "--model", "kim", "--limit", "6",
                     "--concurrency", "2", "--warmup", "0", "--out", str(tmp_path / "b"),
                     "--no-plots", "--no-progress"]) == 0
    rows = json.loads((tmp_path / "b" / "results.json").read_text())
    assert rows[0]["ok"] == 6 and contract.rejected == 0
