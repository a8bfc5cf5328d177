from datetime import date

import pytest

from millicent.deploy.target import LambdaTarget
from millicent.errors import ConfigError


def test_python311_gets_only_amazon_linux_2_manylinux_tags():
    tags = LambdaTarget("3.11", "x86_64").pip_platforms()
    assert tags[0] == "manylinux_2_26_x86_64"  # glibc of Amazon Linux 2
    assert "manylinux_2_28_x86_64" not in tags  # numpy >= 2.3 wheels would not load there
    assert "manylinux_2_17_x86_64" in tags and tags[-1] == "manylinux2014_x86_64"


def test_python312_arm64_gets_amazon_linux_2023_aarch64_tags():
    t = LambdaTarget("3.12", "arm64")
    tags = t.pip_platforms()
    assert tags[0] == "manylinux_2_34_aarch64" and all(x.endswith("_aarch64") for x in tags)
    assert (t.runtime, t.python_tag, t.docker_platform) == ("python3.12", "cp312", "linux/arm64")
    assert t.base_image == "public.ecr.aws/lambda/python:3.12"


@pytest.mark.parametrize("python,arch", [("3.8", "x86_64"), ("3.12", "amd64")])
def test_unknown_runtime_or_arch_is_a_config_error(python, arch):
    with pytest.raises(ConfigError):
        LambdaTarget(python, arch)


def test_deprecated_runtime_refused_for_aws_after_its_block_date():
    LambdaTarget("3.11").check_deployable(today=date(2026, 7, 30))
    with pytest.raises(ConfigError, match=r"python3\.11.*--python 3\.1[2-9]"):
        LambdaTarget("3.11").check_deployable(today=date(2026, 7, 31))
    LambdaTarget("3.12").check_deployable(today=date(2026, 12, 1))
