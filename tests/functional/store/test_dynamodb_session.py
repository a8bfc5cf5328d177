"""The DynamoDB store's lean botocore session: the same models as botocore's own loader, the
environment's credentials without a credential chain, and no boto3 in the function."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from millicent.store.dynamodb_session import given_credentials, lean_session
from tests.servers import REPO

botocore_session = pytest.importorskip("botocore.session")


@pytest.mark.parametrize(("kind", "name"), [
    ("service", "service-2"), ("service", "endpoint-rule-set-1"), ("data", "endpoints"),
    ("data", "partitions"), ("data", "_retry"), ("data", "sdk-default-configuration"),
])
def test_lean_loader_loads_the_models_botocore_loads(kind: str, name: str) -> None:
    ours = lean_session(botocore_session).get_component("data_loader")
    theirs = botocore_session.Session().get_component("data_loader")
    if kind == "service":
        a, b = ours.load_service_model("dynamodb", name), theirs.load_service_model("dynamodb", name)
    else:
        a, b = ours.load_data(name), theirs.load_data(name)
    assert a == b
    # and in the same order (json.dumps walks dicts in insertion order)
    assert json.dumps(a) == json.dumps(b)
    assert type(a) is dict and type(b) is not dict  # plain dicts: no OrderedDict hook


def test_given_credentials() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3"}
    assert given_credentials(env) == {"aws_access_key_id": "AKID", "aws_secret_access_key": "s3"}
    assert given_credentials({**env, "AWS_SESSION_TOKEN": "tok"})["aws_session_token"] == "tok"
    assert given_credentials({**env, "AWS_SECURITY_TOKEN": "old"})["aws_session_token"] == "old"
    assert given_credentials({"AWS_ACCESS_KEY_ID": "AKID"}) == {}  # incomplete: the chain decides
    assert given_credentials({**env, "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"}) == {}


def test_opening_a_store_loads_botocore_only_and_uses_the_given_credentials() -> None:
    code = (
        "import sys\n"
        "from millicent.store import open_store\n"
        "store = open_store('dynamodb://tbl?endpoint=http://127.0.0.1:1&region=eu-west-1', read_only=True)\n"
        "creds = store.client._request_signer._credentials\n"
        "print(creds.access_key, creds.secret_key, creds.token, store.client.meta.region_name)\n"
        "print(sorted(m for m in ('boto3', 's3transfer', 'botocore') if m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "AWS_ACCESS_KEY_ID": "AKIDX",
           "AWS_SECRET_ACCESS_KEY": "secretx", "AWS_SESSION_TOKEN": "tokx",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    creds, modules = r.stdout.splitlines()
    assert creds == "AKIDX secretx tokx eu-west-1"
    assert modules == "['botocore']"
