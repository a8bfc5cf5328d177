"""cfn-lint (the real linter, its own resource schemas) on every template variant."""

import pytest

from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import TemplateOptions, template_json

cfnlint_api = pytest.importorskip("cfnlint.api")


@pytest.mark.parametrize("options", [
    TemplateOptions(),
    TemplateOptions(gateway="http", target=LambdaTarget("3.13", "arm64"), billing_mode="PROVISIONED"),
    TemplateOptions(gateway="none", memory_mb=3008, target=LambdaTarget("3.14")),
], ids=["url", "http-arm64-provisioned", "none"])
def test_cfn_lint_passes(options):
    matches = cfnlint_api.lint(template_json(options),
                               config=cfnlint_api.ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_would_catch_a_broken_template():
    """The check can fail: a GetAtt of an attribute the resource type lacks is reported."""
    text = template_json(TemplateOptions()).replace('"FunctionUrl", "FunctionUrl"', '"FunctionUrl", "Endpoint"')
    text = text.replace('"FunctionUrl",\n          "FunctionUrl"', '"FunctionUrl",\n          "Endpoint"')
    assert '"Endpoint"' in text
    matches = cfnlint_api.lint(text, config=cfnlint_api.ManualArgs(regions=["us-east-1"]))
    assert matches
