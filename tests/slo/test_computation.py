"""The SLO arithmetic: counter increases with resets, PromQL's histogram_quantile, the
latency SLI, objectives from the alerting file, and minutes kept in the history store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from headless_agent.alerts.config import ConfigProblems, load_config
from headless_agent.slo.controllers import INGRESS_NGINX, TRAEFIK, SeriesLabels, read_exposition
from headless_agent.slo.increases import MinuteBook, counter_increase
from headless_agent.slo.ingress_mapping import IngressMap
from headless_agent.slo.objectives import Objective
from headless_agent.slo.quantile import fraction_at_most, histogram_quantile
from headless_agent.slo.status import objective_status, target_status
from headless_agent.state.records import IngressRecord, IngressRoute
from headless_agent.store import HistoryStore
from tests.slo.exporter import NginxRoute, Requests, TraefikRoute, TrafficExporter, spread

INF = math.inf
CHECKOUT = NginxRoute("shop", "shop-web", "shop.example.com", "/checkout", "checkout")
HOME = NginxRoute("shop", "shop-web", "shop.example.com", "/", "frontend")


def test_histogram_quantile_follows_promql_including_its_edge_cases() -> None:
    buckets = {0.1: 10.0, 0.5: 20.0, INF: 30.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.3)  # 0.1 + 0.4 * 5/10
    assert histogram_quantile(0.2, buckets) == pytest.approx(0.06)  # first bucket from 0
    assert histogram_quantile(0.99, buckets) == 0.5  # in +Inf: the highest finite bound
    assert histogram_quantile(-0.1, buckets) == -INF
    assert histogram_quantile(1.1, buckets) == INF
    assert math.isnan(histogram_quantile(0.5, {0.1: 1.0, 0.5: 2.0}))  # no +Inf bucket
    assert math.isnan(histogram_quantile(0.5, {0.1: 0.0, INF: 0.0}))  # no observations
    assert math.isnan(histogram_quantile(0.5, {INF: 4.0}))  # a single bucket
    assert histogram_quantile(0.1, {-1.0: 5.0, INF: 10.0}) == -1.0  # first bound not above 0
    # Counts that go down (buckets scraped apart) are raised to the previous one.
    assert histogram_quantile(0.5, {0.1: 10.0, 0.5: 8.0, 1.0: 20.0, INF: 20.0}) == pytest.approx(
        histogram_quantile(0.5, {0.1: 10.0, 0.5: 10.0, 1.0: 20.0, INF: 20.0})
    )


def test_the_latency_sli_interpolates_within_a_bucket() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, INF: 100.0}
    assert fraction_at_most(0.1, buckets) == pytest.approx(0.5)
    assert fraction_at_most(0.3, buckets) == pytest.approx(0.7)
    assert fraction_at_most(9.0, buckets) == pytest.approx(0.9)
    assert math.isnan(fraction_at_most(0.3, {0.1: 0.0, INF: 0.0}))


def test_counter_increases_survive_a_reset() -> None:
    assert counter_increase(10, 15) == 5
    assert counter_increase(10, 3) == 3  # reset: it counted 3 since
    assert counter_increase(None, 7) == 7  # a new series counts from zero


def test_minutes_book_increases_per_target_across_a_controller_restart() -> None:
    exporter = TrafficExporter([CHECKOUT, HOME])
    book = MinuteBook(lambda s: f"{s.host}{s.path}")
    fast = spread(0.02, 0.2)

    def step(minute: int, ok: int, failed: int, *, reset: bool = False) -> None:
        traffic = [Requests(CHECKOUT, [("GET", "200", ok), ("POST", "503", failed)], fast)]
        exporter.apply(minute, traffic, reset=reset)
        book.observe("pod-a", minute * 60.0 + 5, read_exposition(INGRESS_NGINX, exporter.render()))

    step(0, 100, 0)  # the baseline
    step(1, 50, 5)
    step(2, 20, 2, reset=True)
    step(3, 10, 0)
    minutes = {(m.target, m.start): m for m in book.close(4 * 60.0)}
    checkout = [minutes[("shop.example.com/checkout", 60.0 * i)] for i in (1, 2, 3)]
    assert [m.statuses for m in checkout] == [
        {"200": 50, "503": 5},
        {"200": 20, "503": 2},  # after the reset: what was counted since
        {"200": 10, "503": 0},
    ]
    assert [m.buckets[INF] for m in checkout] == [55, 22, 10]
    assert ("shop.example.com/checkout", 0.0) not in minutes  # the baseline: no increases yet


def test_traefik_router_metrics_are_preferred_and_mapped_to_ingress_routes() -> None:
    router = TraefikRoute(
        "shop-shop-api-api-example-com-orders@kubernetes", "shop-orders-8080@kubernetes"
    )
    exporter = TrafficExporter([router])
    exporter.apply(0, [Requests(router, [("GET", "200", 7), ("GET", "500", 1)], spread(0.1, 2))])
    reading = read_exposition(TRAEFIK, exporter.render())
    statuses = {k[2]: v for k, v in reading.items() if k[1] == "status"}
    assert statuses == {"200": 7, "500": 1}  # the service family is not counted again
    ingress = IngressRecord(
        "shop",
        "shop-api",
        "uid",
        None,
        (),
        "traefik",
        (
            IngressRoute("api.example.com", "/orders", "orders", "8080"),
            IngressRoute("api.example.com", "/", "frontend", "80"),
        ),
        (),
    )
    mapping = IngressMap([ingress])
    series = next(iter(reading))[0]
    assert mapping.target_of(series) == "api.example.com/orders"
    by_service = SeriesLabels(service="shop-frontend-80@kubernetes")
    assert mapping.target_of(by_service) == "api.example.com/"
    unknown = SeriesLabels(namespace="gone", ingress="old", host="old.example.com", path="/x")
    assert mapping.target_of(unknown) == "old.example.com/x"  # the labels say enough


def test_objectives_are_read_from_the_alerting_file_with_their_mistakes_lined(
    tmp_path: Path,
) -> None:
    good = tmp_path / "alerts.toml"
    good.write_text(
        '[[slos]]\nname = "checkout"\nhost = "shop.example.com"\npath = "/checkout"\n'
        'availability = 99.5\nlatency = "300ms"\nlatency_target = 95\nperiod = "28d"\n'
        'bad_statuses = ["5xx", "429"]\n'
    )
    config = load_config(good)
    assert config.slos == (
        Objective(
            "checkout",
            "shop.example.com",
            "/checkout",
            availability=99.5,
            latency=0.3,
            latency_target=95.0,
            period="28d",
            bad_statuses=("5xx", "429"),
        ),
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[slos]]\nname = "a"\nhost = "x"\navailability = 100\nperiod = "7d"\n'
        '\n[[slos]]\nname = "a"\nhost = "y"\npath = "nope"\nlatency = "fast"\ncolour = 1\n'
    )
    with pytest.raises(ConfigProblems) as raised:
        load_config(bad)
    assert raised.value.problems == [
        "line 4: slos[0].availability: a percentage between 0 and 100, e.g. 99.9",
        'line 5: slos[0].period: "30d" (SRE workbook) or "28d" (Pyrra)',
        "line 12: slos[1].colour: unknown key (known: name, host, path, clusters, "
        "availability, bad_statuses, latency, latency_target, period, min_requests, "
        "no_data_after)",
        'line 10: slos[1].path: a path that starts with "/"',
        "line 11: slos[1].latency: 'fast' is not a duration such as 30s, 5m or 4h",
    ]


def test_minutes_are_stored_rolled_up_by_hour_and_summarized_over_windows(tmp_path: Path) -> None:
    exporter = TrafficExporter([CHECKOUT])
    book = MinuteBook(lambda s: f"{s.host}{s.path}")
    now = 1_800_000_000.0 // 3600 * 3600 + 3 * 3600  # on an hour
    start = now - 2 * 3600
    for minute in range(121):
        slow = minute > 90  # the last half hour is slow and has errors
        traffic = [
            Requests(
                CHECKOUT,
                [("GET", "200", 100), ("GET", "502", 2 if slow else 0)],
                spread(0.4, 2.0) if slow else spread(0.02, 0.2),
            )
        ]
        exporter.apply(minute, traffic)
        book.observe(
            "pod", start + minute * 60 - 30, read_exposition(INGRESS_NGINX, exporter.render())
        )
    from headless_agent.slo.collector import minute_window

    windows = [minute_window(m) for m in book.close(now)]
    assert len(windows) == 120
    objective = Objective(
        "checkout", "shop.example.com", "/checkout", availability=99.0, latency=0.3
    )
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        store.record_slo_minutes("prod", windows)
        store.flush()
        hours = store.slo_windows("prod", "shop.example.com/checkout", start - 3600, now)
        assert [
            (w.window_start, w.window_seconds, w.total) for w in hours if w.window_seconds == 3600
        ] == [
            (start, 3600, 6000),
            (start + 3600, 3600, 6060),
        ]
        status = objective_status(store, "prod", objective, now)
        by_window = {w.window: w for w in status.windows}
        assert by_window["1h"].requests == 6060
        assert by_window["1h"].availability == pytest.approx(6000 / 6060)
        assert by_window["1d"].requests == 12060  # hourly rollups and edge minutes agree
        assert by_window["1h"].percentiles[0][1] > 0.2  # the slow half hour shows
        assert by_window["1h"].latency_good < 0.75
        assert status.budget_remaining == pytest.approx(1 - (60 / 12060) / 0.01)
        assert set(target_status(store, "prod", now)) == {"shop.example.com/checkout"}
