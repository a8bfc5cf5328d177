"""Lambda and DynamoDB rules of the planner: data with sources, checked as AWS checks them."""

from __future__ import annotations

import numpy as np
import pytest

from millicent.economics.rules import load_rules
from millicent.errors import ConfigError
from millicent.plan.dynamodb_rules import dynamodb_rules, table_served
from millicent.plan.lambda_rules import lambda_rules, parse_idle
from millicent.plan.profile import StoreLoad
from millicent.plan.store_load import hot_key_limit_qps

RULES = load_rules()


def test_every_rule_names_its_source() -> None:
    for section in ("lambda", "dynamodb"):
        for name, rule in RULES[section].items():
            assert str(rule["source"]).startswith("https://"), name
    idle = RULES["lambda"]["idle_reclaim"]
    assert idle["default"] == "10m" and all(m["source"].startswith("https://") for m in idle["measured"])


def test_lambda_defaults_and_limits() -> None:
    r = lambda_rules(RULES)
    assert (r.limit, r.limit_reason, r.bucket_rate) == (1000, "account", 100.0)
    assert r.idle.values_s == (600.0,)
    reserved = lambda_rules(RULES, reserved=50)
    assert (reserved.limit, reserved.limit_reason) == (50, "reserved")
    with pytest.raises(ConfigError, match="100 executions unreserved"):
        lambda_rules(RULES, reserved=901)


def test_idle_distributions() -> None:
    u = parse_idle("uniform:25m:60m")
    assert len(u.values_s) == 16 and u.mean_s == pytest.approx(42.5 * 60)
    assert parse_idle("points:5m,10m").values_s == (300.0, 600.0)
    with pytest.raises(ConfigError):
        parse_idle("normal:5m:1m")


def test_hot_key_limit_is_one_partition() -> None:
    ddb = dynamodb_rules(RULES)
    # 3,000 read units/s per partition, 0.5 unit per eventually consistent read of ≤ 4 KB
    assert ddb.key_reads_limit(208) == 6000
    assert ddb.key_reads_limit(5000) == 3000
    store = StoreLoad(19.0, (("the", 0.6),), 208)
    assert hot_key_limit_qps(store, ddb) == pytest.approx(10000)
    assert hot_key_limit_qps(StoreLoad(0.0, (), 208), ddb) is None


def test_on_demand_table_scaling() -> None:
    ddb = dynamodb_rules(RULES)
    step = 60.0
    # new table: 12,000 units/s at once; a jump to 30,000 throttles until it lasted 30 min
    demand = np.array([1000.0] * 5 + [30000.0] * 40)
    served = table_served(demand, step, ddb)
    assert served[0] == 1000 and served[5] == 12000  # max(12,000 initial, 2 × 1,000)
    assert served[6] == 24000  # twice the previous peak served
    assert np.all(served[7:] == 30000)
    # the table quota bounds everything
    assert table_served(np.array([90000.0] * 100), step, ddb).max() == 40000


def test_provisioned_table_burst() -> None:
    ddb = dynamodb_rules(RULES, mode="provisioned", rcu=100)
    served = table_served(np.array([0.0] * 5 + [400.0] * 10), 1.0, ddb)
    # 300 s of unused capacity (30,000 units) carries 300 units/s extra for 100 s
    assert served[5] == 400 and np.all(served[5:] == 400)
    long = table_served(np.array([400.0] * 200), 1.0, ddb)
    assert long[-1] == 100
