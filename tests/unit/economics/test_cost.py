"""The cost model against hand-computed cases, the paper's own figure included."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from millicent.economics.cost import (
    Cost,
    CostOptions,
    Usage,
    billed_duration_ms,
    billed_ms,
    cost_per_million,
    instance_cost_per_million,
    read_units,
    request_cost,
)
from millicent.economics.prices import DEFAULT_PRICES, load_prices, normalize_arch, parse_prices
from millicent.errors import ConfigError, InvalidInput

PRICES = load_prices()


def test_price_sheet_has_date_sources_and_the_issue_prices() -> None:
    assert PRICES.date and PRICES.sources["lambda"].startswith("https://aws.amazon.com/")
    assert PRICES.gb_second("x86_64") == 0.0000166667
    assert PRICES.gb_second("arm64") == 0.0000133334
    assert PRICES.lambda_usd_per_million_requests == 0.20
    assert PRICES.granularity_ms("1ms") == 1 and PRICES.granularity_ms("100ms") == 100
    assert PRICES.dynamodb_usd_per_million_rru == 0.125
    assert PRICES.dynamodb_usd_per_rcu_hour == 0.00013
    assert (PRICES.gateway("http"), PRICES.gateway("rest"), PRICES.gateway("url")) == (1.0, 3.5, 0.0)
    assert PRICES.mb_per_vcpu == 1769


def test_price_sheet_prices_snapstart_and_provisioned_concurrency() -> None:
    assert PRICES.snapstart_usd_per_gb_second_cache == 0.0000015046
    assert PRICES.snapstart_usd_per_gb_restored == 0.0001397998
    assert PRICES.snapstart_cache_minimum_hours == 3
    assert PRICES.provisioned_allocated("x86") == 0.0000041667
    assert PRICES.provisioned_duration("x86_64") == 0.0000097222
    assert PRICES.provisioned_duration("arm64") < PRICES.provisioned_duration("x86_64")
    raw = json.loads(DEFAULT_PRICES.read_text())
    del raw["lambda"]["provisioned"]["usd_per_gb_second_duration"]["arm64"]
    with pytest.raises(ConfigError, match="provisioned"):
        parse_prices(raw)
    raw = json.loads(DEFAULT_PRICES.read_text())
    del raw["lambda"]["snapstart"]["usd_per_gb_restored"]
    with pytest.raises(ConfigError, match="snapstart"):
        parse_prices(raw)


def test_price_sheet_validation() -> None:
    raw = json.loads(DEFAULT_PRICES.read_text())
    raw["lambda"]["usd_per_million_requests"] = -1
    with pytest.raises(ConfigError, match="usd_per_million_requests"):
        parse_prices(raw)
    raw = json.loads(DEFAULT_PRICES.read_text())
    del raw["dynamodb"]["usd_per_rcu_hour"]
    with pytest.raises(ConfigError, match="usd_per_rcu_hour"):
        parse_prices(raw)
    with pytest.raises(ConfigError):
        PRICES.gateway("alb")
    with pytest.raises(ConfigError):
        PRICES.granularity_ms("10ms")
    assert normalize_arch("x86") == "x86_64" and normalize_arch("aarch64") == "arm64"


def test_billed_duration_rounds_up_to_the_unit() -> None:
    assert billed_ms(700.0, 100) == 700
    assert billed_ms(650.0, 100) == 700
    assert billed_ms(700.4, 100) == 800
    assert billed_ms(12.3, 1) == 13
    assert billed_ms(0.2, 1) == 1  # at least one unit
    assert billed_ms(0.0, 100) == 100
    assert billed_ms(0.7 * 1000, 100) == 700  # float noise must not add a unit
    with pytest.raises(InvalidInput):
        billed_ms(-1.0, 1)


def test_the_papers_figure_128mb_700ms_100ms_billing() -> None:
    # the paper: 7 × 100 ms units × $0.000000208 = $1.456 per million ≈ $1.46
    opts = CostOptions(memory_mb=128, billing="100ms")
    per_100ms_at_128mb = 0.1 * 128 / 1024 * PRICES.gb_second("x86_64")
    assert round(per_100ms_at_128mb, 9) == 0.000000208  # the 2018 price table's entry
    report = cost_per_million([Usage(duration_ms=700.0)], PRICES, opts)
    assert report.per_million.compute == pytest.approx(7 * per_100ms_at_128mb * 1e6)
    assert round(report.per_million.compute, 2) == 1.46
    assert report.per_million.compute == pytest.approx(1.456, abs=0.003)
    assert report.mean_billed_ms == 700


def test_1ms_billing_and_arm64() -> None:
    c = request_cost(Usage(duration_ms=12.3), PRICES, CostOptions(memory_mb=128))
    assert c.compute == pytest.approx(0.013 * 0.125 * 0.0000166667)
    c = request_cost(Usage(duration_ms=100.0), PRICES, CostOptions(memory_mb=1024, arch="arm64"))
    assert c.compute == pytest.approx(0.1 * 1.0 * 0.0000133334)
    assert c.requests == pytest.approx(0.20e-6)


@pytest.mark.parametrize(("gateway", "usd"), [("url", 0.0), ("http", 1.0), ("rest", 3.5)])
def test_gateway_per_request(gateway: str, usd: float) -> None:
    r = cost_per_million([Usage(duration_ms=5.0)], PRICES, CostOptions(gateway=gateway))
    assert r.per_million.gateway == pytest.approx(usd)
    assert r.per_million.requests == pytest.approx(0.20)


def test_dynamodb_units_round_each_item_separately() -> None:
    # 1200 B → 1 block, 5000 B → 2 blocks, each separately; a missing key costs one block
    assert read_units([1200, 1200, 5000], 1, PRICES) == 2.5
    assert read_units([1200, 1200, 5000], 1, PRICES, strongly_consistent=True) == 5.0
    assert read_units([4096], 0, PRICES) == 0.5
    assert read_units([4097], 0, PRICES) == 1.0
    assert read_units([], 0, PRICES) == 0.0  # everything from the pack / LRU: free
    # 20 × 1.2 KB items one by one are 20 half units, not ceil(24 KB / 4 KB) = 6 blocks
    assert read_units([1200] * 20, 0, PRICES) == 10.0


def test_on_demand_store_cost_and_cache_hits_cost_nothing() -> None:
    u = Usage(duration_ms=5.0, item_bytes=(1200, 1200, 5000), missing_items=1)
    r = cost_per_million([u], PRICES, CostOptions())
    assert r.per_million.store == pytest.approx(2.5 * 0.125)
    assert r.mean_read_units == 2.5
    r = cost_per_million([Usage(duration_ms=5.0)], PRICES, CostOptions())
    assert r.per_million.store == 0.0
    r = cost_per_million([u], PRICES, CostOptions(store="none"))
    assert r.per_million.store == 0.0


def test_provisioned_capacity_is_spread_over_the_query_rate() -> None:
    u = Usage(duration_ms=5.0, item_bytes=(1200,) * 5)  # 2.5 units per query
    opts = CostOptions(dynamodb_mode="provisioned", provisioned_rcu=500)
    r = cost_per_million([u], PRICES, opts, query_rate_qps=100.0)
    assert r.per_million.store == pytest.approx(500 * 0.00013 / (3600 * 100) * 1e6)
    assert not r.capacity_exceeded  # 250 units/s < 500
    r = cost_per_million([u], PRICES, opts, query_rate_qps=300.0)
    assert r.capacity_exceeded  # 750 units/s > 500
    assert any("throttle" in n for n in r.notes)
    with pytest.raises(InvalidInput):
        cost_per_million([u], PRICES, opts)


def test_init_billing_by_era_and_package_type_not_by_billing_unit() -> None:
    u = Usage(duration_ms=10.0, init_ms=100.0, init_kind="init")
    # today (the sheet's date): an on-demand zip function's INIT is billed
    assert cost_per_million([u], PRICES, CostOptions()).mean_billed_ms == 110
    assert cost_per_million([u], PRICES, CostOptions(era="2025-08-01")).mean_billed_ms == 110
    # the day before AWS standardised INIT billing: free for managed-runtime zips ...
    assert cost_per_million([u], PRICES, CostOptions(era="2025-07-31")).mean_billed_ms == 10
    # ... but always billed for container images
    image = CostOptions(era="2025-07-31", package_type="image")
    assert cost_per_million([u], PRICES, image).mean_billed_ms == 110
    # the billing unit decides nothing about INIT: 100 ms units today still bill it
    assert cost_per_million([u], PRICES, CostOptions(billing="100ms")).mean_billed_ms == 200
    # the paper's era: 100 ms units and a free INIT are two separate options
    paper = CostOptions(billing="100ms", era="2018-06-01")
    assert cost_per_million([u], PRICES, paper).mean_billed_ms == 100
    assert PRICES.init_billed(dt.date(2018, 6, 1), "zip", provisioned=True)
    for bad in ({"era": "last year"}, {"package_type": "jar"}):
        with pytest.raises(ConfigError):
            CostOptions(**bad)  # type: ignore[arg-type]


def test_init_inside_the_invocation_is_not_added_again() -> None:
    # no init_kind: a lazy INIT that ran inside duration_ms (it is already there)
    lazy = Usage(duration_ms=110.0, init_ms=0.0)
    eager = Usage(duration_ms=10.0, init_ms=100.0, init_kind="init")
    for u in (lazy, eager):
        assert cost_per_million([u], PRICES, CostOptions()).mean_billed_ms == 110
    with pytest.raises(InvalidInput):
        Usage(duration_ms=1.0, init_kind="thaw")


def test_a_snapstart_restore_bills_its_restore_duration_and_the_restore_fee() -> None:
    u = Usage(duration_ms=4.2, init_ms=180.0, init_kind="restore", restore_billed_ms=42)
    c = request_cost(u, PRICES, CostOptions(memory_mb=1024))
    # 5 ms invocation + 42 ms billed restore at 1 GB, plus 1 GB restored
    assert c.compute == pytest.approx(0.047 * 0.0000166667 + 0.0001397998)
    assert billed_duration_ms(u, PRICES, CostOptions()) == 47
    # without a logged billed restore duration, the measured restore is billed
    local = Usage(duration_ms=4.2, init_ms=18.3, init_kind="restore")
    assert billed_duration_ms(local, PRICES, CostOptions()) == 5 + 19


def test_a_logged_billed_duration_is_the_bill_unless_an_era_reprices_it() -> None:
    # a REPORT line of 2024: INIT 150 ms not billed, Billed Duration 13 ms as AWS wrote it
    u = Usage(duration_ms=12.3, init_ms=150.0, init_kind="init", billed_ms=13, memory_mb=128)
    assert billed_duration_ms(u, PRICES, CostOptions(memory_mb=2048)) == 13
    assert request_cost(u, PRICES, CostOptions(memory_mb=2048)).compute == pytest.approx(
        0.013 * 0.125 * 0.0000166667)  # priced at the logged memory
    # re-priced under today's rules, or in 100 ms units, from the raw durations
    assert billed_duration_ms(u, PRICES, CostOptions(era="2026-01-01")) == 163
    assert billed_duration_ms(u, PRICES, CostOptions(billing="100ms")) == 200


def test_total_variable_and_mean_over_requests() -> None:
    # the paper's configuration: 128 MB, 100 ms billing, REST API, 20 × 1.2 KB items per query
    u = Usage(duration_ms=700.0, item_bytes=(1200,) * 20)
    r = cost_per_million([u], PRICES, CostOptions(billing="100ms", gateway="rest"))
    pm = r.per_million
    assert pm.store == pytest.approx(20 * 0.5 * 0.125)
    assert pm.total == pytest.approx(1.45833625 + 0.20 + 1.25 + 3.50)
    assert pm.variable == pytest.approx(1.45833625 + 1.25)
    # the mean of per-request costs, not the cost of the mean duration
    two = cost_per_million([Usage(duration_ms=50.0), Usage(duration_ms=150.0)], PRICES,
                           CostOptions(billing="100ms"))
    assert two.per_million.compute == pytest.approx(150 / 1000 * 0.125 * 0.0000166667 * 1e6)
    with pytest.raises(InvalidInput):
        cost_per_million([], PRICES, CostOptions())


def test_cost_arithmetic_and_options_validation() -> None:
    c = Cost(1.0, 2.0, 3.0, 4.0) + Cost(1.0, 1.0, 1.0, 1.0)
    assert c.to_dict() == {"total": 14.0, "compute": 2.0, "requests": 3.0, "store": 4.0,
                           "gateway": 5.0, "variable": 6.0}
    assert c.scaled(0.5).total == 7.0
    for bad in ({"gateway": "alb"}, {"store": "s3"}, {"memory_mb": 0},
                {"dynamodb_mode": "reserved"}, {"arch": "sparc"}):
        with pytest.raises(ConfigError):
            CostOptions(**bad)  # type: ignore[arg-type]


def test_instance_cost_per_million() -> None:
    assert instance_cost_per_million(0.0168, 100.0) == pytest.approx(0.0168 / 360000 * 1e6)
