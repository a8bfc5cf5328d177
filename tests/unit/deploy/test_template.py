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


VARIANTS = [TemplateOptions(gateway=g) for g in GATEWAYS] + [
    TemplateOptions(reserved_concurrency=5, auth="iam"),
    TemplateOptions(snapstart=True, code_sha256="ab" * 32),
    TemplateOptions(snapstart=True, gateway="http", budget_usd=20),
    TemplateOptions(budget_usd=20, budget_email="ops@example.com", reserved_concurrency=3),
]


@pytest.mark.parametrize("options", VARIANTS)
def test_role_allows_only_table_reads_and_own_logs(options):
    t = build_template(options)
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


def _permissions(t):
    return {k: r["Properties"] for k, r in t["Resources"].items() if r["Type"] == "AWS::Lambda::Permission"}


def test_reserved_concurrency_is_a_parameter_with_min_1_and_absent_means_none():
    t = build_template(TemplateOptions(reserved_concurrency=5))
    assert t["Parameters"]["ReservedConcurrency"] == {
        "Type": "Number", "Default": 5, "MinValue": 1,
        "Description": "cap on concurrent executions: bounds the bill (0 would block every request)"}
    fn = t["Resources"]["Function"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    none = build_template(TemplateOptions())
    assert "ReservedConcurrency" not in none["Parameters"]
    assert "ReservedConcurrentExecutions" not in none["Resources"]["Function"]["Properties"]
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="blocks every request"):
            TemplateOptions(reserved_concurrency=bad)


def test_iam_auth_url_and_its_matching_permissions():
    t = build_template(TemplateOptions(auth="iam", reserved_concurrency=5))
    assert t["Resources"]["FunctionUrl"]["Properties"]["AuthType"] == "AWS_IAM"
    perms = _permissions(t)
    assert perms["FunctionUrlPermission"] == {
        "Action": "lambda:InvokeFunctionUrl", "FunctionName": {"Ref": "Function"},
        "Principal": {"Ref": "AWS::AccountId"}, "FunctionUrlAuthType": "AWS_IAM"}
    assert perms["FunctionUrlInvokePermission"]["Principal"] == {"Ref": "AWS::AccountId"}
    assert perms["FunctionUrlInvokePermission"]["InvokedViaFunctionUrl"] is True
    assert t["Metadata"]["millicent"]["auth"] == "iam"
    public = _permissions(build_template(TemplateOptions()))
    assert public["FunctionUrlPermission"]["Principal"] == "*"
    assert public["FunctionUrlPermission"]["FunctionUrlAuthType"] == "NONE"
    for gateway in ("http", "none"):
        with pytest.raises(ConfigError, match="Function URL"):
            TemplateOptions(auth="iam", gateway=gateway)


def test_snapstart_publishes_a_version_per_code_behind_an_alias():
    sha = "0123456789abcdef" * 4
    t = build_template(TemplateOptions(snapstart=True, code_sha256=sha))
    res = t["Resources"]
    assert res["Function"]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    version_id = "Version0123456789abcdef"
    assert res[version_id]["Type"] == "AWS::Lambda::Version"
    assert res[version_id]["Properties"]["FunctionName"] == {"Ref": "Function"}
    assert "${CodeKey}" in res[version_id]["Properties"]["Description"]["Fn::Sub"]
    assert res["FunctionAlias"]["Properties"] == {
        "FunctionName": {"Ref": "Function"}, "Name": "live",
        "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]}}
    url = res["FunctionUrl"]
    assert url["Properties"]["Qualifier"] == "live" and url["DependsOn"] == "FunctionAlias"
    assert all(p["FunctionName"] == {"Ref": "FunctionAlias"} for p in _permissions(t).values())
    assert t["Outputs"]["FunctionVersionArn"]["Value"] == {"Ref": version_id}
    # new code, new logical id: CloudFormation publishes a new version and moves the alias
    other = build_template(TemplateOptions(snapstart=True, code_sha256="f" * 64))
    assert "Version" + "f" * 16 in other["Resources"]
    assert version_id not in other["Resources"]
    http = build_template(TemplateOptions(snapstart=True, gateway="http"))
    assert http["Resources"]["HttpApi"]["Properties"]["Target"] == {"Ref": "FunctionAlias"}
    assert http["Resources"]["HttpApiPermission"]["Properties"]["FunctionName"] == {"Ref": "FunctionAlias"}
    plain = build_template(TemplateOptions())
    assert not any(r["Type"] in ("AWS::Lambda::Version", "AWS::Lambda::Alias")
                   for r in plain["Resources"].values())
    assert "SnapStart" not in plain["Resources"]["Function"]["Properties"]


def test_snapstart_needs_python_3_12():
    with pytest.raises(ConfigError, match=r"Python 3\.12 and later only"):
        TemplateOptions(snapstart=True, target=LambdaTarget("3.11"))
    for python in ("3.12", "3.13", "3.14"):
        TemplateOptions(snapstart=True, target=LambdaTarget(python))
    with pytest.raises(ConfigError, match="SHA-256"):
        TemplateOptions(snapstart=True, code_sha256="abc")


def test_budget_with_80_and_100_percent_notifications():
    t = build_template(TemplateOptions(budget_usd=25, budget_email="ops@example.com"))
    budget = t["Resources"]["Budget"]
    assert budget["Type"] == "AWS::Budgets::Budget"
    props = budget["Properties"]
    assert props["Budget"]["BudgetLimit"] == {"Amount": {"Ref": "BudgetUsd"}, "Unit": "USD"}
    assert (props["Budget"]["BudgetType"], props["Budget"]["TimeUnit"]) == ("COST", "MONTHLY")
    assert t["Parameters"]["BudgetUsd"]["Default"] == 25
    thresholds = [n["Notification"]["Threshold"] for n in props["NotificationsWithSubscribers"]]
    assert thresholds == [80, 100]
    assert all(n["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]
               for n in props["NotificationsWithSubscribers"])
    sns = build_template(TemplateOptions(budget_usd=25))
    assert sns["Resources"]["BudgetTopic"]["Type"] == "AWS::SNS::Topic"
    policy = sns["Resources"]["BudgetTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[0]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert policy[0]["Action"] == "sns:Publish"
    assert sns["Outputs"]["BudgetTopicArn"]["Value"] == {"Ref": "BudgetTopic"}
    assert "Budget" not in build_template(TemplateOptions())["Resources"]
    for bad in ({"budget_usd": 0}, {"budget_email": "ops@example.com"},
                {"budget_usd": 5, "budget_email": "not an address"}):
        with pytest.raises(ConfigError):
            TemplateOptions(**bad)
