"""``deploy`` / ``destroy`` against moto's server (a real process on loopback).

moto is used for the control plane only — stack, bucket, table, role, function — and for a
small embedding load. Its CloudFormation does not implement AWS::Lambda::Url nor
AWS::ApiGatewayV2::Api, so the stack here has ``gateway="none"``; those two resources are
checked by cfn-lint (tests/functional/test_deploy_template_lint.py).
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError

from millicent.cli.main import main
from millicent.deploy.embeddings import make_loader
from millicent.deploy.package import PackageSpec, build_package
from millicent.deploy.stack import AwsTarget, deploy, destroy
from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import TemplateOptions
from millicent.errors import ConfigError
from tests.deploy_support import MotoServer, tiny_artifact, wheel_dir

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
    loader = make_loader(str(vectors), progress=False, log=logs.append)
    d = deploy(where, "millicent-it", package, TemplateOptions(gateway="none"), loader=loader,
               poll_s=0.2, log=logs.append)
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
    d2 = deploy(where, "millicent-it", package, TemplateOptions(gateway="none", memory_mb=2048),
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
    assert main(["deploy", *common, "--package", str(package), "--gateway", "none",
                 "--vectors", str(vectors)]) == 0
    out = capsys.readouterr().out
    assert "CREATE_COMPLETE" in out and f"({len(WORDS)} vectors loaded)" in out
    assert "endpoint: (none" in out
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
        deploy(AwsTarget(REGION), "x", package, log=lambda _: None)
    with pytest.raises(ConfigError, match="profile 'nope' not found"):
        destroy(AwsTarget(REGION, profile="nope"), "x", log=lambda _: None)
