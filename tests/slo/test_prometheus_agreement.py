"""Our availability and percentiles equal PromQL's ``increase()`` and
``histogram_quantile()`` over the same windows, on the same exporter, scraped by a real
Prometheus (Debian's package) and by our reader.

Time is scaled: one step of the traffic script is one of our minutes, and lasts as long as
Prometheus (scraping every second) takes to see it. The counters move only between steps,
so every scrape of a step reads the same values.

How the windows are aligned. Our window (a, b] is the sum of the minutes booked at steps
a+1 … b: exactly the counters' growth from step a to step b, resets included. PromQL's
``increase(x[R])`` evaluated at T takes the samples in the range, adds their growth
(resets included, the same rule as ours), and then *extrapolates* that growth to the
edges of the range. So we read Prometheus' own sample times (``atlhyper_test_step[…]``)
and choose T = the last sample of step b and R reaching 1 ms before its first sample of
step a: the samples in the range then run from step a's values to step b's, and
``increase()`` extrapolates over 1 ms of a multi-second range (a factor of about 1.0003,
the same for every series, which the ratios and quantiles cancel). Availability and
percentiles are ratios and bucket interpolations, so they must agree to rounding; the
test allows 0.1 percentage point and 1 %.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from headless_agent.slo.collector import minute_window
from headless_agent.slo.controllers import INGRESS_NGINX, TRAEFIK, SeriesLabels, read_exposition
from headless_agent.slo.increases import MinuteBook, MinuteTraffic, total_traffic
from headless_agent.slo.prometheus_source import PrometheusSource
from headless_agent.slo.quantile import PERCENTILES, histogram_quantile
from headless_agent.slo.status import stored_traffic, summarize
from headless_agent.store import HistoryStore
from tests.slo.exporter import NginxRoute, Requests, TraefikRoute, TrafficExporter, spread

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is not installed")

CHECKOUT = NginxRoute("shop", "shop-web", "shop.example.com", "/checkout", "checkout")
HOME = NginxRoute("shop", "shop-web", "shop.example.com", "/", "frontend")
API = TraefikRoute("shop-shop-api-api-example-com@kubernetes", "shop-orders-8080@kubernetes")
FAST, SLOW = spread(0.02, 0.3), spread(0.3, 3.0)
RESET_STEP, SHIFT_STEP = 4, 7


def _step(k: int) -> list[Requests]:
    """The traffic script: a warm-up with every series present, errors that vary, a
    controller restart at step 4, slow responses and an error burst from step 7 to 9."""
    latency = SLOW if SHIFT_STEP <= k <= 9 else FAST
    burst = 40 if k == 8 else 0
    scale = 4 if k == 0 else 1
    return [
        Requests(
            CHECKOUT,
            [
                ("GET", "200", 100 * scale + 7 * k),
                ("POST", "200", 50 * scale),
                ("GET", "503", 1 + k % 3 + burst),
                ("POST", "429", 1 + k % 2),
            ],
            latency,
        ),
        Requests(
            HOME,
            [
                ("GET", "200", 80 * scale),
                ("POST", "200", 20 * scale),
                ("GET", "502", 1 + k % 2),
                ("GET", "429", 1),
            ],
            FAST,
        ),
        Requests(
            API,
            [
                ("GET", "200", 60 * scale + k),
                ("GET", "500", 1 + k % 4),
                ("GET", "429", 1),
                ("POST", "503", 1 + burst // 4),
            ],
            latency,
        ),
    ]


STEPS = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def exporter() -> Iterator[TrafficExporter]:
    exporter = TrafficExporter([CHECKOUT, HOME, API])
    yield exporter
    exporter.stop()


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=10.0)

    def query(self, promql: str, at: float) -> list[dict[str, object]]:
        response = self.client.get("/api/v1/query", params={"query": promql, "time": f"{at:.3f}"})
        body = response.json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])


@pytest.fixture
def prometheus(tmp_path: Path, exporter: TrafficExporter) -> Iterator[Prometheus]:
    target = exporter.start("127.0.0.1")
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
        "scrape_configs:\n  - job_name: exporter\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    assert PROMETHEUS is not None
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.client.get("/-/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"prometheus did not start: {(tmp_path / 'prometheus.log').read_text()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _target(series: SeriesLabels) -> str:
    return series.router or f"{series.host}{series.path}"


def _ours(minutes: list[MinuteTraffic], target: str, a: int, b: int) -> MinuteTraffic:
    chosen = [m for m in minutes if m.target == target and a < m.start / 60 <= b]
    assert len(chosen) == b - a
    return total_traffic(chosen, target, a * 60.0, (b - a) * 60.0)


def test_availability_and_percentiles_equal_promql_over_the_same_windows(
    exporter: TrafficExporter, prometheus: Prometheus, tmp_path: Path
) -> None:
    book = MinuteBook(_target)
    started = time.time()
    for k in range(STEPS):
        exporter.apply(k, _step(k), reset=k == RESET_STEP)
        # Our reader: one scrape per step, at minute k (the scaled clock).
        text = httpx.get(f"http://{exporter_address(exporter)}/metrics").text
        book.observe("ingress-nginx-0", k * 60.0 + 1, read_exposition(INGRESS_NGINX, text))
        book.observe("traefik-0", k * 60.0 + 1, read_exposition(TRAEFIK, text))
        deadline = time.monotonic() + 30
        while not _seen(prometheus, k):
            assert time.monotonic() < deadline, f"prometheus never scraped step {k}"
            time.sleep(0.1)
    minutes = book.close(STEPS * 60.0)
    # Through the history store and the status a view reads, as the product keeps them.
    store = HistoryStore.open(tmp_path / "h.sqlite3")
    store.record_slo_minutes("test", [minute_window(m) for m in minutes])
    store.flush()
    now = time.time()
    samples = prometheus.query(f"atlhyper_test_step[{math.ceil(now - started) + 5}s]", now)
    steps: dict[int, list[float]] = {}
    for at, value in samples[0]["values"]:  # type: ignore[index]
        steps.setdefault(int(float(value)), []).append(float(at))

    windows = [
        (STEPS - 2, STEPS - 1),
        (0, STEPS - 1),
        (RESET_STEP - 1, RESET_STEP + 1),
        (SHIFT_STEP - 1, SHIFT_STEP + 2),
        (2, 8),
    ]
    worst = {"availability": 0.0, "percentile": 0.0}
    for a, b in windows:
        end = max(steps[b])
        start = min(steps[a]) - 0.001
        span = f"{round((end - start) * 1000)}ms"
        for family, by, metric, status, buckets, targets in (
            (
                "nginx",
                "host, path",
                "nginx_ingress_controller_requests",
                "status",
                "nginx_ingress_controller_request_duration_seconds_bucket",
                ("shop.example.com/checkout", "shop.example.com/"),
            ),
            (
                "traefik",
                "router",
                "traefik_router_requests_total",
                "code",
                "traefik_router_request_duration_seconds_bucket",
                (API.router,),
            ),
        ):
            ratio = prometheus.query(
                f'sum by ({by}) (increase({metric}{{{status}!~"5.."}}[{span}]))'
                f" / sum by ({by}) (increase({metric}[{span}]))",
                end,
            )
            quantiles = {
                q: prometheus.query(
                    f"histogram_quantile({q}, sum by ({by}, le) (increase({buckets}[{span}])))", end
                )
                for q in PERCENTILES
            }
            stored = stored_traffic(store, "test", (a + 1) * 60.0, (b + 1) * 60.0)
            for target in targets:
                status = summarize([m for m in stored if m.target == target], "", (b - a) * 60.0)
                ours = _ours(minutes, target, a, b)
                assert status.requests == ours.requests
                availability = status.availability
                theirs = _value(ratio, target)
                worst["availability"] = max(worst["availability"], abs(availability - theirs))
                assert availability == pytest.approx(theirs, abs=0.001), (family, target, a, b)
                for q, mine in status.percentiles:
                    promql = _value(quantiles[q], target)
                    worst["percentile"] = max(worst["percentile"], abs(mine / promql - 1))
                    assert mine == pytest.approx(promql, rel=0.01), (family, target, q, a, b)
    print(
        f"worst differences: availability {worst['availability']:.2e}, "
        f"percentiles {worst['percentile']:.2e} (relative)"
    )
    # The Prometheus source's client reads the same server.
    answer = trio.run(
        PrometheusSource(prometheus.url).query_range, "atlhyper_test_step", started, now + 1, 0.5
    )
    assert {int(float(v)) for _, v in answer[0]["values"]} == set(range(STEPS))  # type: ignore[index]
    # The shift shows, and the reset lost nothing: step 4's requests are all counted.
    assert histogram_quantile(0.5, _ours(minutes, "shop.example.com/checkout", 7, 9).buckets) > 0.3
    counted = _ours(minutes, "shop.example.com/checkout", 3, 4).requests
    assert counted == sum(n for _, _, n in _step(RESET_STEP)[0].counts)
    store.close()


def exporter_address(exporter: TrafficExporter) -> str:
    assert exporter._server is not None
    host, port = exporter._server.server_address[:2]
    return f"{host}:{port}"


def _seen(prometheus: Prometheus, step: int) -> bool:
    result = prometheus.query("atlhyper_test_step", time.time())
    return bool(result) and int(float(result[0]["value"][1])) == step  # type: ignore[index]


def _value(result: list[dict[str, object]], target: str) -> float:
    for series in result:
        labels = series["metric"]
        assert isinstance(labels, dict)
        name = labels.get("router") or f"{labels.get('host')}{labels.get('path')}"
        if name == target:
            return float(series["value"][1])  # type: ignore[index]
    raise AssertionError(f"PromQL gave nothing for {target}: {result}")
