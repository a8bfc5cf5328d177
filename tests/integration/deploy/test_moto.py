"""``deploy`` / ``destroy`` against moto's server (a real process on loopback).

moto is used for the control plane only — stack, bucket, table, role, function — and for a
small embedding load. Its CloudFormation does not implement AWS::Lambda::Url nor
AWS::ApiGatewayV2::Api, so the stack here has ``gateway="none"``; those two resources are
checked by cfn-lint (tests/functional/deploy/test_template_lint.py).

What moto cannot do, and so is not tested here: ``GetAccountSettings`` (404: the account's
limit is stated with ``account_concurrency``, and the refusal logic is unit-tested on the
settings' shape); ``AWS::Lambda::Alias`` and ``SnapStart`` in CloudFormation (ignored); and
the order of a stack update — moto creates a new resource *before* it updates the existing
ones, so the version the second deploy adds is published from the old ``$LATEST`` (real
CloudFormation updates the function first: the version refers to it). Invoking a function
needs Docker, which this machine lacks. What is tested: the reservation check runs before
anything exists, the cap reaches the function, and a second deploy with new code replaces
the version resource (new logical id from the code's hash) and updates ``$LATEST``'s code.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError

from millicent.cli.main import main
from millicent.deploy.embeddings import make_loader
from millicent.deploy.package import PackageSpec, build_package
from millicent.deploy.stack import AwsTarget, StackRequest, deploy, destroy
from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import TemplateOptions
from millicent.errors import ConfigError
from millicent.runtime.artifact import TokenizerSpec
from millicent.tokenizers import make_tokenizer
from tests.deploy_support import MotoServer, tiny_artifact, wheel_dir

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

pytestmark = pytest.mark.integration
REGION = "eu-west-1"
WORDS = ["the", "film", "is", "good", "bad", "(", "n't", "movie"]


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("deploy")
    art = tiny_artifact(tmp / "kim")
    built = build_package(PackageSpec(models=(("kim", art),), out_dir=tmp / "dist",
                                      target=LambdaTarget("3.12"), wheel_dir=wheel_dir("cp312")))
    return built.zip_path


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vec") / "tiny.txt"
    path.write_text("".join(f"{w} {i}.5 -{i}.25 0.125 {i}\n" for i, w in enumerate(WORDS)))
    return path


def _client(moto: MotoServer, service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=moto.endpoint)


def test_deploy_update_destroy(moto, package, vectors):
    where = AwsTarget(REGION, endpoint_url=moto.endpoint)
    logs: list[str] = []
    loader = make_loader(str(vectors), progress=False, log=logs.append, tokenizer=PTB)
    d = deploy(where, StackRequest("millicent-it", package, TemplateOptions(gateway="none")),
               loader=loader, poll_s=0.2, log=logs.append)
    assert d.status == "CREATE_COMPLETE"
    assert d.bucket == "millicent-123456789012-eu-west-1" and d.key.startswith("millicent-it/")
    assert d.endpoint is None and d.loaded_items == len(WORDS)

    s3, ddb, lam, iam = (_client(moto, s) for s in ("s3", "dynamodb", "lambda", "iam"))
    assert s3.head_object(Bucket=d.bucket, Key=d.key)["ContentLength"] == package.stat().st_size
    fn = lam.get_function(FunctionName=d.outputs["FunctionName"])["Configuration"]
    assert (fn["Runtime"], fn["Architectures"], fn["MemorySize"]) == ("python3.12", ["x86_64"], 1024)
    assert fn["Handler"] == "millicent.runtime.handler.handler"
    env = fn["Environment"]["Variables"]
    assert env["MILLICENT_MODELS"] == "kim=artifacts/kim"
    assert env["MILLICENT_STORE_URL"] == f"dynamodb://{d.table}?region={REGION}"
    key = ddb.describe_table(TableName=d.table)["Table"]["KeySchema"]
    assert key == [{"AttributeName": "k", "KeyType": "HASH"}]
    got = ddb.get_item(TableName=d.table, Key={"k": {"S": "film"}})["Item"]
    assert len(got["v"]["B"]) == 4 * 4  # 4 float32, the binary layout
    role = fn["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    doc = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(doc, str):  # moto returns the document as text (a Python repr of it)
        doc = ast.literal_eval(unquote(doc))
    actions = sorted(a for st in doc["Statement"] for a in st["Action"])
    assert actions == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "logs:CreateLogGroup",
                       "logs:CreateLogStream", "logs:PutLogEvents"]
    table_arn = ddb.describe_table(TableName=d.table)["Table"]["TableArn"]
    assert [st["Resource"] for st in doc["Statement"] if st["Sid"] == "ReadOwnTable"] == [table_arn]

    # update in place: more memory; the load finds everything already there
    d2 = deploy(where, StackRequest("millicent-it", package,
                                    TemplateOptions(gateway="none", memory_mb=2048)),
                loader=loader, poll_s=0.2, log=logs.append)
    assert d2.status == "UPDATE_COMPLETE" and d2.table == d.table
    assert lam.get_function(FunctionName=d2.outputs["FunctionName"])["Configuration"]["MemorySize"] == 2048
    assert any("0 already there" not in x and "already there" in x for x in logs)

    destroy(where, "millicent-it", poll_s=0.2, log=logs.append)
    with pytest.raises(ClientError, match="does not exist"):
        _client(moto, "cloudformation").describe_stacks(StackName="millicent-it")
    assert d.table not in ddb.list_tables()["TableNames"]
    assert d.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_cli_deploy_and_destroy(moto, package, vectors, capsys):
    common = ["--stack", "millicent-cli", "--region", REGION, "--endpoint-url", moto.endpoint,
              "--bucket", "my-code-bucket"]
    record = package.parent / "cli-record.json"
    assert main(["deploy", *common, "--package", str(package), "--gateway", "none",
                 "--vectors", str(vectors), "--record", str(record)]) == 0
    out = capsys.readouterr().out
    assert "CREATE_COMPLETE" in out and f"({len(WORDS)} vectors loaded)" in out
    assert "endpoint: (none" in out
    # moto has no GetAccountSettings: AWS's default quota is assumed, and said so; the
    # worst case at that cap is stated per hour and per month
    assert "1,000 concurrent executions (the account's unreserved concurrency (AWS's default quota assumed" in out
    assert "per hour" in out and "per month" in out
    saved = json.loads(record.read_text())
    assert (saved["stack"], saved["auth"], saved["bill"]["cap"]) == ("millicent-cli", "none", 1000)
    assert main(["destroy", *common]) == 0
    assert "destroyed" in capsys.readouterr().out
    s3 = _client(moto, "s3")
    assert s3.list_objects_v2(Bucket="my-code-bucket").get("KeyCount") == 0  # an explicit bucket stays


def test_missing_credentials_is_a_config_error_naming_profile(monkeypatch, tmp_path, package):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    with pytest.raises(ConfigError, match="--profile"):
        deploy(AwsTarget(REGION), StackRequest("x", package), log=lambda _: None)
    with pytest.raises(ConfigError, match="profile 'nope' not found"):
        destroy(AwsTarget(REGION, profile="nope"), "x", log=lambda _: None)


@pytest.fixture(scope="module")
def package_v2(tmp_path_factory) -> Path:
    """The same function with other code (another artifact name in the manifest)."""
    tmp = tmp_path_factory.mktemp("deploy-v2")
    art = tiny_artifact(tmp / "kim")
    manifest = json.loads((art / "manifest.json").read_text())
    (art / "manifest.json").write_text(json.dumps({**manifest, "name": "kim-v2"}))
    built = build_package(PackageSpec(models=(("kim", art),), out_dir=tmp / "dist",
                                      target=LambdaTarget("3.12"), wheel_dir=wheel_dir("cp312")))
    return built.zip_path


def _buckets(moto: MotoServer) -> set[str]:
    return {b["Name"] for b in _client(moto, "s3").list_buckets()["Buckets"]}


def test_a_reservation_the_account_cannot_grant_is_refused_before_anything_exists(moto, package):
    where = AwsTarget(REGION, endpoint_url=moto.endpoint)
    before = _buckets(moto)
    # a new account with a quota of 10: nothing can be reserved (100 stay unreserved)
    request = StackRequest("millicent-refused", package, TemplateOptions(gateway="none", reserved_concurrency=5),
                           account_concurrency=10)
    with pytest.raises(ConfigError, match=r"cannot reserve any concurrency.*quota of 10"):
        deploy(where, request, log=lambda _: None)
    # the account's limits unreadable (moto: no GetAccountSettings) and not stated
    with pytest.raises(ConfigError, match="--account-concurrency"):
        deploy(where, StackRequest("millicent-refused", package,
                                   TemplateOptions(gateway="none", reserved_concurrency=5)), log=lambda _: None)
    with pytest.raises(ConfigError, match="at most 900"):
        deploy(where, StackRequest("millicent-refused", package,
                                   TemplateOptions(gateway="none", reserved_concurrency=901),
                                   account_concurrency=1000), log=lambda _: None)
    with pytest.raises(ClientError, match="does not exist"):
        _client(moto, "cloudformation").describe_stacks(StackName="millicent-refused")
    assert _buckets(moto) == before  # not even the code bucket


def test_snapstart_and_a_reservation_then_new_code(moto, package, package_v2, capsys):
    import base64
    import hashlib

    common = ["--stack", "millicent-snap", "--region", REGION, "--endpoint-url", moto.endpoint,
              "--gateway", "none", "--no-load", "--snapstart", "--reserved-concurrency", "5",
              "--account-concurrency", "1000", "--duration-ms", "2", "--record",
              str(package.parent / "snap.json")]
    assert main(["deploy", *common, "--package", str(package)]) == 0
    out = capsys.readouterr().out
    assert "cap in force: 5 concurrent executions (reserved concurrency)" in out
    assert "worst case at 5 concurrent executions (reserved concurrency), 2 ms per request" in out
    assert "recommended cap: --reserved-concurrency" in out
    cf, lam = _client(moto, "cloudformation"), _client(moto, "lambda")

    def versions() -> list[str]:
        res = cf.list_stack_resources(StackName="millicent-snap")["StackResourceSummaries"]
        return sorted(r["LogicalResourceId"] for r in res if r.get("ResourceType") == "AWS::Lambda::Version")

    def sha(zip_path: Path) -> str:
        return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()

    first = hashlib.sha256(package.read_bytes()).hexdigest()[:16]
    assert versions() == [f"Version{first}"]
    fn = cf.describe_stacks(StackName="millicent-snap")["Stacks"][0]["Outputs"]
    name = next(o["OutputValue"] for o in fn if o["OutputKey"] == "FunctionName")
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    published = [v for v in lam.list_versions_by_function(FunctionName=name)["Versions"]
                 if v["Version"] != "$LATEST"]
    assert [v["CodeSha256"] for v in published] == [sha(package)]
    record = json.loads((package.parent / "snap.json").read_text())
    assert (record["snapstart"], record["reserved_concurrency"], record["bill"]["cap"]) == (True, 5, 5)

    # new code: the version resource is replaced (its logical id carries the code's hash)
    # and $LATEST holds the new code; moto publishes that version before updating the
    # function (see the module docstring), so its code cannot be checked here
    assert main(["deploy", *common, "--package", str(package_v2)]) == 0
    second = hashlib.sha256(package_v2.read_bytes()).hexdigest()[:16]
    assert versions() == [f"Version{second}"]
    assert lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"] == sha(package_v2)
    destroy(AwsTarget(REGION, endpoint_url=moto.endpoint), "millicent-snap", poll_s=0.2,
            log=lambda _: None)
