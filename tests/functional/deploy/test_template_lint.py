"""cfn-lint (the real linter, its own resource schemas) on every template variant."""

import pytest

from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import TemplateOptions, template_json

cfnlint_api = pytest.importorskip("cfnlint.api")


@pytest.mark.parametrize("options", [
    TemplateOptions(),
    TemplateOptions(gateway="http", target=LambdaTarget("3.13", "arm64"), billing_mode="PROVISIONED"),
    TemplateOptions(gateway="none", memory_mb=3008, target=LambdaTarget("3.14")),
    TemplateOptions(reserved_concurrency=5, auth="iam"),
    TemplateOptions(snapstart=True, target=LambdaTarget("3.12")),
    TemplateOptions(snapstart=True, auth="iam", code_sha256="ab" * 32, reserved_concurrency=2),
    TemplateOptions(snapstart=True, gateway="http", target=LambdaTarget("3.13", "arm64")),
    TemplateOptions(snapstart=True, gateway="none"),
    TemplateOptions(budget_usd=50, budget_email="ops@example.com"),
    TemplateOptions(budget_usd=50, gateway="http", reserved_concurrency=10),
], ids=["url", "http-arm64-provisioned", "none", "reserved5-iam", "snapstart-url",
        "snapstart-iam-hashed-reserved", "snapstart-http-arm64", "snapstart-none",
        "budget-email", "budget-sns-http"])
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


def test_cli_template_reserved_5_iam_and_snapstart(tmp_path, capsys):
    """The issue's checks through the CLI: cfn-lint clean, the cap resolves to 5, AWS_IAM."""
    import json

    from millicent.cli.main import main

    out = tmp_path / "t.json"
    assert main(["template", "--reserved-concurrency", "5", "--auth", "iam", "--out", str(out)]) == 0
    t = json.loads(out.read_text())
    assert cfnlint_api.lint(out.read_text(), config=cfnlint_api.ManualArgs(regions=["us-east-1"])) == []
    ref = t["Resources"]["Function"]["Properties"]["ReservedConcurrentExecutions"]
    assert t["Parameters"][ref["Ref"]]["Default"] == 5
    assert t["Resources"]["FunctionUrl"]["Properties"]["AuthType"] == "AWS_IAM"
    assert main(["template", "--reserved-concurrency", "0", "--out", str(out)]) == 2
    assert "blocks every request" in capsys.readouterr().err
    snap = tmp_path / "snap.json"
    assert main(["template", "--snapstart", "--python", "3.12", "--out", str(snap)]) == 0
    assert cfnlint_api.lint(snap.read_text(), config=cfnlint_api.ManualArgs(regions=["us-east-1"])) == []
    assert "AWS::Lambda::Alias" in snap.read_text()
    assert main(["template", "--snapstart", "--python", "3.11", "--out", str(snap)]) == 2
    err = capsys.readouterr().err
    assert "Python 3.12 and later only" in err
