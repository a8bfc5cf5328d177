"""The CloudFormation template: function, Function URL or HTTP API, table, least-privilege role.

Plain CloudFormation (no ``Transform``), built as a dict and written as JSON, so
``aws cloudformation deploy``, ``sam deploy`` and moto's CloudFormation all take it as is.
Values that can change between deployments are parameters (code location, architecture,
memory, billing mode, the reserved concurrency and the budget's amount ...); the gateway
kind, the URL's auth, SnapStart and the budget change which resources exist and the Python
runtime must be the one the zip's wheels were built for, so these are fixed when the
template is generated (:class:`TemplateOptions`).

The function's role may do exactly three things: write its own log group, and
``dynamodb:GetItem`` / ``dynamodb:BatchGetItem`` on its own table — nothing else.

The options that bound a bill (shared by the cold-start and the real-bill issues):

* ``reserved_concurrency``: a cap on concurrent executions (``ReservedConcurrency``,
  MinValue 1; absent = no reservation — on AWS a reservation of 0 blocks every request);
* ``auth="iam"``: the Function URL takes only SigV4-signed requests (``AWS_IAM``) and the
  account may invoke it; ``"none"``: public;
* ``budget_usd`` / ``budget_email``: an AWS Budgets cost budget for the account with
  notifications at 80 % and 100 % (:mod:`millicent.deploy.budget`);
* ``snapstart``: python3.12+ only; the function publishes a version with ``SnapStart:
  {ApplyOn: PublishedVersions}``, an alias ``live`` points at it and the Function URL (and its
  permissions) / HTTP API point at the alias. A CloudFormation ``AWS::Lambda::Version`` is
  not republished when only the code changes, so the version's logical id carries the code's
  SHA-256 (``code_sha256``; ``millicent deploy`` passes the zip's) and its description the
  code key and configuration: either change publishes a new version and moves the alias.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import millicent
from millicent import config
from millicent.deploy.budget import budget_resources, check_budget
from millicent.deploy.target import ARCHITECTURES, HANDLER, LambdaTarget
from millicent.errors import ConfigError
from millicent.store.dynamodb_items import KEY_ATTR

#: url: Lambda Function URL (no per-request gateway charge); http: API Gateway HTTP API;
#: none: no public endpoint (invoke through the Lambda API, e.g. from other AWS services).
GATEWAYS = ("url", "http", "none")
BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")
#: The table's partition key (string): the word's vector key, as the DynamoDB store reads it.
TABLE_KEY = KEY_ATTR
#: DynamoDB actions the function may call, on its own table only.
TABLE_READ_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365)
DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 15
#: NONE: a public Function URL; AWS_IAM: only SigV4-signed requests of allowed principals
AUTH_TYPES = {"none": "NONE", "iam": "AWS_IAM"}
#: the alias SnapStart's published version is served behind
ALIAS = "live"
#: Python runtimes SnapStart supports (3.12 and later)
SNAPSTART_MIN_PYTHON = (3, 12)


@dataclass(frozen=True)
class TemplateOptions:
    """Choices fixed when the template is generated (the rest are stack parameters)."""

    gateway: str = "url"
    memory_mb: int = DEFAULT_MEMORY_MB
    target: LambdaTarget = field(default_factory=LambdaTarget)
    timeout_s: int = DEFAULT_TIMEOUT_S
    billing_mode: str = "PAY_PER_REQUEST"
    reserved_concurrency: int | None = None
    auth: str = "none"
    budget_usd: float | None = None
    budget_email: str | None = None
    snapstart: bool = False
    #: hex SHA-256 of the zip: names the published version (SnapStart)
    code_sha256: str | None = None

    def __post_init__(self) -> None:
        self._check_basics()
        self._check_bounds()

    def _check_basics(self) -> None:
        if self.gateway not in GATEWAYS:
            raise ConfigError(f"gateway must be one of {GATEWAYS}, got {self.gateway!r}")
        if not 128 <= self.memory_mb <= 10240:
            raise ConfigError(f"Lambda memory must be 128..10240 MB, got {self.memory_mb}")
        if not 1 <= self.timeout_s <= 900:
            raise ConfigError(f"Lambda timeout must be 1..900 s, got {self.timeout_s}")
        if self.gateway == "http" and self.timeout_s > 30:
            raise ConfigError("an HTTP API waits at most 30 s for the function: use --timeout <= 30")
        if self.billing_mode not in BILLING_MODES:
            raise ConfigError(f"billing mode must be one of {BILLING_MODES}")
        if self.snapstart and tuple(int(x) for x in self.target.python.split(".")) < SNAPSTART_MIN_PYTHON:
            raise ConfigError(
                f"SnapStart is not available for {self.target.runtime}: AWS supports it for "
                "Python 3.12 and later only (the snapshot runtime hooks, snapshot_restore_py, "
                "come with those runtimes); package with --python 3.12 or leave out --snapstart")
        if self.code_sha256 is not None and not (
                len(self.code_sha256) == 64 and all(c in "0123456789abcdef" for c in self.code_sha256)):
            raise ConfigError("code_sha256 must be the zip's hex SHA-256")

    def _check_bounds(self) -> None:
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            raise ConfigError(
                f"--reserved-concurrency {self.reserved_concurrency} refused: on AWS a reserved "
                "concurrency of 0 blocks every request to the function (and a negative one does "
                "not exist); leave the option out for no reservation, or give at least 1")
        if self.auth not in AUTH_TYPES:
            raise ConfigError(f"auth must be one of {list(AUTH_TYPES)}, got {self.auth!r}")
        if self.auth == "iam" and self.gateway != "url":
            raise ConfigError(
                "--auth iam applies to the Function URL (--gateway url): an HTTP API has its own "
                "authorizers, and --gateway none has no endpoint (the Lambda API always takes IAM)")
        check_budget(self.budget_usd, self.budget_email)

    @property
    def version_id(self) -> str:
        """Logical id of the published version: a new one for every new code."""
        return "Version" + (self.code_sha256[:16] if self.code_sha256 else "Unversioned")


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _getatt(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def _parameters(o: TemplateOptions) -> dict[str, Any]:
    params: dict[str, Any] = {
        "CodeBucket": {"Type": "String", "Description": "S3 bucket holding the function zip"},
        "CodeKey": {"Type": "String", "Description": "S3 key of the zip built by `millicent package`"},
        "Architecture": {"Type": "String", "Default": o.target.arch, "AllowedValues": list(ARCHITECTURES),
                         "Description": "must match the architecture the zip was built for"},
        "MemorySize": {"Type": "Number", "Default": o.memory_mb, "MinValue": 128, "MaxValue": 10240,
                       "Description": "function memory in MB (CPU share grows with it)"},
        "Timeout": {"Type": "Number", "Default": o.timeout_s, "MinValue": 1,
                    "MaxValue": 30 if o.gateway == "http" else 900},
        "Models": {"Type": "String", "Default": "",
                   "Description": f"{config.MODELS}: NAME=artifacts/NAME[,...] inside the zip"},
        "Pack": {"Type": "String", "Default": "",
                 "Description": f"{config.PACK_PATH}: the frequent-word pack inside the zip, or empty"},
        "LruSize": {"Type": "Number", "Default": config.DEFAULT_LRU_SIZE, "MinValue": 0},
        "TableBillingMode": {"Type": "String", "Default": o.billing_mode,
                             "AllowedValues": list(BILLING_MODES)},
        "ReadCapacityUnits": {"Type": "Number", "Default": 5, "MinValue": 1,
                              "Description": "used only with PROVISIONED billing"},
        "WriteCapacityUnits": {"Type": "Number", "Default": 5, "MinValue": 1,
                               "Description": "used only with PROVISIONED billing"},
        "LogRetentionDays": {"Type": "Number", "Default": 14, "AllowedValues": list(LOG_RETENTION_DAYS)},
    }
    if o.reserved_concurrency is not None:
        params["ReservedConcurrency"] = {
            "Type": "Number", "Default": o.reserved_concurrency, "MinValue": 1,
            "Description": "cap on concurrent executions: bounds the bill (0 would block every request)"}
    if o.budget_usd is not None:
        params["BudgetUsd"] = {"Type": "Number", "Default": o.budget_usd, "MinValue": 1,
                               "Description": "monthly cost budget of the account, USD"}
    return params


def _role() -> dict[str, Any]:
    log_group = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogGroup}"
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            },
            "Policies": [{
                "PolicyName": "millicent-function",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": list(LOG_ACTIONS),
                         "Resource": [_sub(log_group), _sub(log_group + ":*")]},
                        {"Sid": "ReadOwnTable", "Effect": "Allow", "Action": list(TABLE_READ_ACTIONS),
                         "Resource": _getatt("Table", "Arn")},
                    ],
                },
            }],
        },
    }


def _function(o: TemplateOptions) -> dict[str, Any]:
    env = {
        config.MODELS: _ref("Models"),
        config.PACK_PATH: _ref("Pack"),
        config.LRU_SIZE: _ref("LruSize"),
        config.STORE_URL: _sub("dynamodb://${Table}?region=${AWS::Region}"),
    }
    fn: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Description": "millicent: NLP CNN with word embeddings in DynamoDB",
            "Code": {"S3Bucket": _ref("CodeBucket"), "S3Key": _ref("CodeKey")},
            "Handler": HANDLER,
            # Fixed, not a parameter: the zip's compiled wheels fit one Python only.
            "Runtime": o.target.runtime,
            "Architectures": [_ref("Architecture")],
            "MemorySize": _ref("MemorySize"),
            "Timeout": _ref("Timeout"),
            "Role": _getatt("Role", "Arn"),
            "LoggingConfig": {"LogGroup": _ref("LogGroup"), "LogFormat": "Text"},
            "Environment": {"Variables": env},
        },
    }
    if o.reserved_concurrency is not None:
        fn["Properties"]["ReservedConcurrentExecutions"] = _ref("ReservedConcurrency")
    if o.snapstart:
        fn["Properties"]["SnapStart"] = {"ApplyOn": "PublishedVersions"}
    return fn


def _published(o: TemplateOptions) -> dict[str, Any]:
    """SnapStart: the version (new logical id per code) and the alias that follows it."""
    return {
        o.version_id: {"Type": "AWS::Lambda::Version", "Properties": {
            "FunctionName": _ref("Function"),
            # a change of code key or configuration replaces the version: published anew
            "Description": _sub("millicent ${CodeKey}: ${MemorySize} MB, ${Timeout} s, "
                                "${Architecture}, LRU ${LruSize}")}},
        "FunctionAlias": {"Type": "AWS::Lambda::Alias", "Properties": {
            "FunctionName": _ref("Function"), "Name": ALIAS,
            "FunctionVersion": _getatt(o.version_id, "Version")}},
    }


def _url(o: TemplateOptions, target: dict[str, Any]) -> dict[str, Any]:
    """A Function URL and the permissions its auth type needs (both actions since Oct 2025)."""
    auth = AUTH_TYPES[o.auth]
    # public: anyone; AWS_IAM: principals of this account whose own policies allow it
    principal: Any = "*" if auth == "NONE" else _ref("AWS::AccountId")
    url: dict[str, Any] = {"TargetFunctionArn": _getatt("Function", "Arn"), "AuthType": auth}
    resource: dict[str, Any] = {"Type": "AWS::Lambda::Url", "Properties": url}
    if o.snapstart:
        url["Qualifier"] = ALIAS
        resource["DependsOn"] = "FunctionAlias"
    return {
        "FunctionUrl": resource,
        "FunctionUrlPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunctionUrl", "FunctionName": target,
            "Principal": principal, "FunctionUrlAuthType": auth}},
        "FunctionUrlInvokePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": target,
            "Principal": principal, "InvokedViaFunctionUrl": True}},
    }


def _gateway(o: TemplateOptions) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Resources and the endpoint output of the chosen gateway (on the alias with SnapStart)."""
    target = _ref("FunctionAlias") if o.snapstart else _ref("Function")
    if o.gateway == "none":
        return {}, None
    if o.gateway == "url":
        return _url(o, target), _getatt("FunctionUrl", "FunctionUrl")
    resources = {
        # "Quick create": the API, a $default route, its Lambda proxy integration
        # (payload format 2.0) and an auto-deployed $default stage.
        "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": _ref("AWS::StackName"), "ProtocolType": "HTTP",
            "Target": target if o.snapstart else _getatt("Function", "Arn")}},
        "HttpApiPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": target,
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": _sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                              "${AWS::AccountId}:${HttpApi}/*")}},
    }
    return resources, _getatt("HttpApi", "ApiEndpoint")


def _storage() -> dict[str, Any]:
    """The table of word vectors and the function's own log group."""
    return {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "AttributeDefinitions": [{"AttributeName": TABLE_KEY, "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": TABLE_KEY, "KeyType": "HASH"}],
                "BillingMode": _ref("TableBillingMode"),
                "ProvisionedThroughput": {"Fn::If": [
                    "ProvisionedTable",
                    {"ReadCapacityUnits": _ref("ReadCapacityUnits"),
                     "WriteCapacityUnits": _ref("WriteCapacityUnits")},
                    _ref("AWS::NoValue")]},
            },
        },
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": _sub("/aws/lambda/${AWS::StackName}"),
                           "RetentionInDays": _ref("LogRetentionDays")},
        },
    }


def _outputs(o: TemplateOptions, endpoint: dict[str, Any] | None) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "TableName": {"Description": "DynamoDB table of word vectors", "Value": _ref("Table")},
        "FunctionName": {"Description": "the Lambda function", "Value": _ref("Function")},
    }
    if endpoint is not None:
        outputs["EndpointUrl"] = {"Description": "POST /classify, /rank or /{model}; GET /health",
                                  "Value": endpoint}
    if o.snapstart:
        # Ref (the version's ARN, ending in its number): moto's CloudFormation has no GetAtt
        # for versions, and the ARN is what a qualified invoke takes anyway
        outputs["FunctionVersionArn"] = {"Description": "the published version the alias serves",
                                         "Value": _ref(o.version_id)}
    if o.budget_usd is not None and o.budget_email is None:
        outputs["BudgetTopicArn"] = {"Description": "subscribe here to the budget's notifications",
                                     "Value": _ref("BudgetTopic")}
    return outputs


def metadata(o: TemplateOptions) -> dict[str, Any]:
    """What the template was generated with (deploy records it; invoke reads ``auth``).
    CloudFormation metadata takes no nulls: options not set are left out."""
    out = {"version": millicent.__version__, "gateway": o.gateway, "auth": o.auth,
           "snapstart": o.snapstart, "reserved_concurrency": o.reserved_concurrency,
           "budget_usd": o.budget_usd, "runtime": o.target.runtime, "arch": o.target.arch}
    return {k: v for k, v in out.items() if v is not None}


def build_template(options: TemplateOptions | None = None) -> dict[str, Any]:
    """The CloudFormation template as a dict (see the module docstring)."""
    o = options or TemplateOptions()
    gateway_resources, endpoint = _gateway(o)
    resources: dict[str, Any] = {**_storage(), "Role": _role(), "Function": _function(o)}
    if o.snapstart:
        resources.update(_published(o))
    resources.update(gateway_resources)
    if o.budget_usd is not None:
        resources.update(budget_resources(o.budget_email))
    gateway_name = {"url": "Function URL", "http": "HTTP API", "none": "no public endpoint"}[o.gateway]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"millicent {millicent.__version__}: pay-per-request NLP CNN "
                       f"({gateway_name}, DynamoDB embeddings)",
        "Metadata": {"millicent": metadata(o)},
        "Parameters": _parameters(o),
        "Conditions": {
            "ProvisionedTable": {"Fn::Equals": [_ref("TableBillingMode"), "PROVISIONED"]},
        },
        "Resources": resources,
        "Outputs": _outputs(o, endpoint),
    }


def template_json(options: TemplateOptions | None = None) -> str:
    """The template as JSON text."""
    return json.dumps(build_template(options), indent=2) + "\n"


def write_template(path: str | Path, options: TemplateOptions | None = None) -> Path:
    """Write :func:`template_json` to ``path``; returns it."""
    p = Path(path)
    if p.parent != Path(""):
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(template_json(options), encoding="utf-8")
    return p
