"""The CloudFormation template: function, Function URL or HTTP API, table, least-privilege role.

Plain CloudFormation (no ``Transform``), built as a dict and written as JSON, so
``aws cloudformation deploy``, ``sam deploy`` and moto's CloudFormation all take it as is.
Values that can change between deployments are parameters (code location, architecture,
memory, billing mode ...); the gateway kind changes which resources exist and the Python
runtime must be the one the zip's wheels were built for, so both are fixed when the
template is generated.

The function's role may do exactly three things: write its own log group, and
``dynamodb:GetItem`` / ``dynamodb:BatchGetItem`` on its own table — nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import millicent
from millicent import config
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


@dataclass(frozen=True)
class TemplateOptions:
    """Choices fixed when the template is generated (the rest are stack parameters)."""

    gateway: str = "url"
    memory_mb: int = DEFAULT_MEMORY_MB
    target: LambdaTarget = field(default_factory=LambdaTarget)
    timeout_s: int = DEFAULT_TIMEOUT_S
    billing_mode: str = "PAY_PER_REQUEST"

    def __post_init__(self) -> None:
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


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _getatt(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def _parameters(o: TemplateOptions) -> dict[str, Any]:
    return {
        "CodeBucket": {"Type": "String", "Description": "S3 bucket holding the function zip"},
        "CodeKey": {"Type": "String", "Description": "S3 key of the zip built by `millicent package`"},
        "Architecture": {"Type": "String", "Default": o.target.arch, "AllowedValues": list(ARCHITECTURES),
                         "Description": "must match the architecture the zip was built for"},
        "MemorySize": {"Type": "Number", "Default": o.memory_mb, "MinValue": 128, "MaxValue": 10240,
                       "Description": "function memory in MB (CPU share grows with it)"},
        "Timeout": {"Type": "Number", "Default": o.timeout_s, "MinValue": 1,
                    "MaxValue": 30 if o.gateway == "http" else 900},
        "ReservedConcurrency": {"Type": "Number", "Default": 0, "MinValue": 0,
                                "Description": "cap on concurrent executions, a spending limit (0: none)"},
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
    return {
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
            "ReservedConcurrentExecutions": {
                "Fn::If": ["HasReservedConcurrency", _ref("ReservedConcurrency"), _ref("AWS::NoValue")]},
            "LoggingConfig": {"LogGroup": _ref("LogGroup"), "LogFormat": "Text"},
            "Environment": {"Variables": env},
        },
    }


def _gateway(kind: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Resources and the endpoint output of the chosen gateway."""
    if kind == "none":
        return {}, None
    if kind == "url":
        resources = {
            "FunctionUrl": {"Type": "AWS::Lambda::Url", "Properties": {
                "TargetFunctionArn": _getatt("Function", "Arn"), "AuthType": "NONE"}},
            # A public URL needs both permissions (lambda:InvokeFunction since October 2025).
            "FunctionUrlPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "Action": "lambda:InvokeFunctionUrl", "FunctionName": _ref("Function"),
                "Principal": "*", "FunctionUrlAuthType": "NONE"}},
            "FunctionUrlInvokePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "Action": "lambda:InvokeFunction", "FunctionName": _ref("Function"),
                "Principal": "*", "InvokedViaFunctionUrl": True}},
        }
        endpoint = _getatt("FunctionUrl", "FunctionUrl")
    else:
        resources = {
            # "Quick create": the API, a $default route, its Lambda proxy integration
            # (payload format 2.0) and an auto-deployed $default stage.
            "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
                "Name": _ref("AWS::StackName"), "ProtocolType": "HTTP",
                "Target": _getatt("Function", "Arn")}},
            "HttpApiPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "Action": "lambda:InvokeFunction", "FunctionName": _ref("Function"),
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": _sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                  "${AWS::AccountId}:${HttpApi}/*")}},
        }
        endpoint = _getatt("HttpApi", "ApiEndpoint")
    return resources, endpoint


def build_template(options: TemplateOptions | None = None) -> dict[str, Any]:
    """The CloudFormation template as a dict (see the module docstring)."""
    o = options or TemplateOptions()
    gateway_resources, endpoint = _gateway(o.gateway)
    resources: dict[str, Any] = {
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
        "Role": _role(),
        "Function": _function(o),
        **gateway_resources,
    }
    outputs: dict[str, Any] = {
        "TableName": {"Description": "DynamoDB table of word vectors", "Value": _ref("Table")},
        "FunctionName": {"Description": "the Lambda function", "Value": _ref("Function")},
    }
    if endpoint is not None:
        outputs["EndpointUrl"] = {"Description": "POST /classify, /rank or /{model}; GET /health",
                                  "Value": endpoint}
    gateway_name = {"url": "Function URL", "http": "HTTP API", "none": "no public endpoint"}[o.gateway]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"millicent {millicent.__version__}: pay-per-request NLP CNN "
                       f"({gateway_name}, DynamoDB embeddings)",
        "Metadata": {"millicent": {"version": millicent.__version__, "gateway": o.gateway}},
        "Parameters": _parameters(o),
        "Conditions": {
            "ProvisionedTable": {"Fn::Equals": [_ref("TableBillingMode"), "PROVISIONED"]},
            "HasReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [_ref("ReservedConcurrency"), 0]}]},
        },
        "Resources": resources,
        "Outputs": outputs,
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
