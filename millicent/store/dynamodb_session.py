"""A botocore session that creates the DynamoDB client without the cold-start work a
function does not need.

botocore's default session, asked for one DynamoDB client, lists the ≈ 430 services it
knows for every model it loads (a ``listdir`` and a ``stat`` per service and search path,
twice) and parses its JSON models — the 1.2 MB ``endpoints.json`` among them — through an
``OrderedDict`` hook, a Python call per JSON object. :func:`lean_session` registers a
model loader (botocore's own :class:`~botocore.loaders.Loader`, through the session's
public ``register_component``) that knows only ``dynamodb`` will be asked for and parses
with plain dicts: insertion-ordered since Python 3.7, so the loaded models are the same
(a test compares them with botocore's), and the C decoder needs no Python hook. The
search paths stay botocore's (``AWS_DATA_PATH`` first, then the installed data).

:func:`given_credentials` reads the credentials the environment gives (Lambda sets
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``): the first thing
botocore's credential chain would find, so passing them to the client directly gives the
same credentials without building the chain (environment, config files, SSO, container
and instance-metadata providers). Refreshable environment credentials
(``AWS_CREDENTIAL_EXPIRATION``) are left to the chain, which refreshes them.

Imported only by :mod:`millicent.store.dynamodb` when a store is opened (botocore is
imported here lazily, with the caller's module).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from typing import Any

#: The one service the function's client is created for.
SERVICE = "dynamodb"
#: botocore's model file extensions, in its order of preference.
_OPENERS: tuple[tuple[str, Any], ...] = ((".json", open), (".json.gz", gzip.open))


def _plain_file_loader(base: type) -> Any:
    """botocore's JSON model file loader, parsing with plain dicts."""

    class PlainJSONFileLoader(base):
        def load_file(self, file_path: str) -> Any:
            for ext, opener in _OPENERS:
                path = file_path + ext
                if os.path.isfile(path):
                    with opener(path, "rb") as fp:
                        return json.loads(fp.read().decode("utf-8"))
            return None

    return PlainJSONFileLoader()


def _dynamodb_loader(base: type, search_paths: list[str], file_loader: Any) -> Any:
    """botocore's model loader, told that DynamoDB is the only service it is asked for."""

    class DynamoDBLoader(base):
        def list_available_services(self, type_name: str) -> list[str]:
            return [SERVICE]

    return DynamoDBLoader(extra_search_paths=search_paths, file_loader=file_loader)


def lean_session(session_module: Any) -> Any:
    """A ``botocore.session.Session`` whose model loader is the lean one (see the module
    docstring); ``session_module`` is ``botocore.session``, imported by the caller."""
    from botocore.loaders import JSONFileLoader, Loader

    session = session_module.Session()
    data_path = session.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore's own
    extra = [os.path.expanduser(p) for p in data_path.split(os.pathsep)] if data_path else []
    loader = _dynamodb_loader(Loader, extra, _plain_file_loader(JSONFileLoader))
    session.register_component("data_loader", loader)
    return session


def given_credentials(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``create_client`` keyword arguments for the credentials in the environment, or ``{}``
    when it holds none (or refreshable ones): then botocore's chain looks for them."""
    e = os.environ if env is None else env
    key, secret = e.get("AWS_ACCESS_KEY_ID"), e.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret or e.get("AWS_CREDENTIAL_EXPIRATION"):
        return {}
    out = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    token = e.get("AWS_SESSION_TOKEN") or e.get("AWS_SECURITY_TOKEN")
    if token:
        out["aws_session_token"] = token
    return out
