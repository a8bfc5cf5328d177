"""AWS's service rules and limits, read from ``rules.json`` beside this module: the one source.

The file holds each Lambda and DynamoDB limit with the page it comes from (and, for the
idle-reclaim time AWS does not publish, the public measurements it rests on). The planner
simulates them (its typed views :class:`~millicent.plan.lambda_rules.LambdaRules` and
:class:`~millicent.plan.dynamodb_rules.DynamoDBRules`); the worst case
(:mod:`millicent.economics.worstcase`) and the cold-start strategies
(:mod:`millicent.economics.coldstart`) take their defaults from the bundled file through
:func:`lambda_limit`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError
from millicent.jsonfile import read_json_object

DEFAULT_RULES = Path(__file__).with_name("rules.json")


def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The decoded rules file (default: the bundled ``rules.json``)."""
    p = Path(path) if path else DEFAULT_RULES
    raw = read_json_object(p, "rules file")
    if "lambda" not in raw or "dynamodb" not in raw:
        raise ConfigError(f"rules file {p} must hold 'lambda' and 'dynamodb' sections")
    return raw


def rule_value(section: dict[str, Any], name: str, where: str) -> float:
    """``section[name]["value"]`` as a positive number, or ConfigError naming it."""
    entry = section.get(name)
    value = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"rules: {where}.{name}.value must be a positive number")
    return float(value)


def sources(section: dict[str, Any]) -> dict[str, str]:
    """Every rule's source page, by rule name."""
    return {k: str(v["source"]) for k, v in section.items()
            if isinstance(v, dict) and "source" in v}


@functools.cache
def _bundled() -> dict[str, Any]:
    return load_rules()


def lambda_limit(name: str) -> float:
    """One of Lambda's limits in the bundled ``rules.json`` (``account_concurrency``,
    ``unreserved_minimum``, ``init_timeout_s`` ...)."""
    return rule_value(_bundled()["lambda"], name, "lambda")
