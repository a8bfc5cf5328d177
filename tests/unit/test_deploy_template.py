import json

import pytest

from millicent import config
from millicent.deploy.target import HANDLER, LambdaTarget
from millicent.deploy.template import GATEWAYS, TemplateOptions, build_template
from millicent.errors import ConfigError
from millicent.store.dynamodb_items import KEY_ATTR


def _statements(t):
    (policy,) = t["Resources"]["Role"]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_role_allows_only_table_reads_and_own_logs(gateway):
    t = build_template(TemplateOptions(gateway=gateway))
    role = t["Resources"]["Role"]["Properties"]
    assert "ManagedPolicyArns" not in role  # no AWS-managed policy sneaking in wider rights
    assert role["AssumeRolePolicyDocument"]["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    allowed = {}
    for st in _statements(t):
        assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in st["Action"]:
            assert "*" not in action
            allowed.setdefault(action, []).extend(resources)
    assert set(allowed) == {"dynamodb:BatchGetItem", "dynamodb:GetItem",
                            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    for action in ("dynamodb:BatchGetItem", "dynamodb:GetItem"):
        assert allowed[action] == [{"Fn::GetAtt": ["Table", "Arn"]}]
    for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"):
        for res in allowed[action]:
            assert res["Fn::Sub"].startswith(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogGroup}")
            assert res["Fn::Sub"].count("*") <= 1 and not res["Fn::Sub"].endswith("log-group:*")


def test_function_properties_and_environment():
    t = build_template(TemplateOptions(memory_mb=2048, target=LambdaTarget("3.13", "arm64")))
    fn = t["Resources"]["Function"]["Properties"]
    assert fn["Handler"] == HANDLER and fn["Runtime"] == "python3.13"
    assert t["Parameters"]["Architecture"]["Default"] == "arm64"
    assert t["Parameters"]["MemorySize"]["Default"] == 2048
    env = fn["Environment"]["Variables"]
    assert env[config.MODELS] == {"Ref": "Models"} and env[config.PACK_PATH] == {"Ref": "Pack"}
    assert env[config.STORE_URL] == {"Fn::Sub": "dynamodb://${Table}?region=${AWS::Region}"}
    assert fn["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "LogGroup"}


def test_table_key_is_the_stores_key_and_billing_is_a_parameter():
    t = build_template(TemplateOptions(billing_mode="PROVISIONED"))
    table = t["Resources"]["Table"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": KEY_ATTR, "KeyType": "HASH"}]
    assert t["Parameters"]["TableBillingMode"]["Default"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["Fn::If"][0] == "ProvisionedTable"
    assert build_template()["Parameters"]["TableBillingMode"]["Default"] == "PAY_PER_REQUEST"


def test_gateways():
    url = build_template(TemplateOptions(gateway="url"))
    kinds = {r["Type"] for r in url["Resources"].values()}
    assert "AWS::Lambda::Url" in kinds and "AWS::ApiGatewayV2::Api" not in kinds
    actions = sorted(r["Properties"]["Action"] for r in url["Resources"].values()
                     if r["Type"] == "AWS::Lambda::Permission")
    assert actions == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert url["Outputs"]["EndpointUrl"]["Value"] == {"Fn::GetAtt": ["FunctionUrl", "FunctionUrl"]}

    http = build_template(TemplateOptions(gateway="http"))
    assert http["Resources"]["HttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert http["Resources"]["HttpApiPermission"]["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert http["Outputs"]["EndpointUrl"]["Value"] == {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}

    none = build_template(TemplateOptions(gateway="none"))
    assert "EndpointUrl" not in none["Outputs"]
    assert not any(r["Type"] == "AWS::Lambda::Permission" for r in none["Resources"].values())
    for t in (url, http, none):
        assert {"TableName", "FunctionName"} <= set(t["Outputs"])
        assert "Transform" not in t  # plain CloudFormation: moto and `aws cloudformation` take it
        json.dumps(t)


@pytest.mark.parametrize("kw", [{"gateway": "rest"}, {"memory_mb": 64}, {"gateway": "http", "timeout_s": 60},
                                {"billing_mode": "ON_DEMAND"}])
def test_bad_options(kw):
    with pytest.raises(ConfigError):
        TemplateOptions(**kw)
