"""``/metrics``: what an existing Prometheus scraping the probe sees."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nodeprobe.collectors import ALL, DEFAULT_NAMES, Options
from nodeprobe.exposition import (
    LatestSample,
    MetricsServer,
    SampleCollector,
    build_registry,
)
from nodeprobe.push import PushStats
from nodeprobe.registry import Registry
from tests.nodeprobe.conftest import ManualClock, registry_for

Tree = Callable[[str], Path]
Scrape = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(port: int) -> tuple[Scrape, dict[str, tuple[str, str]]]:
    """Every sample by metric name and labels, and each family's (type, help)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain")
    text = response.read().decode()
    connection.close()
    samples: Scrape = {}
    families: dict[str, tuple[str, str]] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = (family.type, family.documentation)
        for name, labels, value, *_ in family.samples:
            samples.setdefault(name, {})[tuple(sorted(labels.items()))] = value
    return samples, families


@pytest.fixture
def serve() -> Iterator[Callable[[Registry, LatestSample, PushStats | None], int]]:
    servers: list[MetricsServer] = []

    def start(registry: Registry, latest: LatestSample, stats: PushStats | None = None) -> int:
        collector = SampleCollector(
            latest, registry.fields, registry.names, (lambda: stats) if stats else None
        )
        server = MetricsServer(build_registry(collector), "127.0.0.1", 0)
        servers.append(server)
        return server.port

    yield start
    for server in servers:
        server.close()


def publish(registry: Registry, latest: LatestSample, count: int) -> None:
    latest.publish(
        registry.collect(),
        collections=count,
        duration=0.004,
        collector_seconds=dict(registry.durations),
        disabled=registry.disabled,
    )


def test_the_latest_collection_in_prometheus_text_with_node_exporter_style_names(
    tree: Tree, serve: Callable[[Registry, LatestSample, PushStats | None], int]
) -> None:
    clock = ManualClock()
    registry = registry_for(tree("node"), clock, tuple(ALL), Options(top_processes=2))
    latest = LatestSample()
    port = serve(registry, latest, PushStats(7, 1, 0, 2, 3, 4096))
    before, _ = scrape(port)
    assert before["nodeprobe_collections_total"] == {(): 0.0}, "scrapable before collecting"
    assert "nodeprobe_cpu_seconds_total" not in before
    publish(registry, latest, 1)
    clock.advance(15.0)
    publish(registry, latest, 2)
    samples, families = scrape(port)

    assert families["nodeprobe_cpu_seconds"][0] == "counter"
    assert samples["nodeprobe_cpu_seconds_total"][(("cpu", "0"), ("mode", "user"))] == 1302.06
    assert families["nodeprobe_memory_available_bytes"] == (
        "gauge",
        "Memory available for new work without swapping (MemAvailable).",
    )
    assert samples["nodeprobe_memory_total_bytes"] == {(): 24684092 * 1024.0}
    assert samples["nodeprobe_network_receive_bytes_per_second"][(("interface", "eth0"),)] == 0.0
    assert (
        samples["nodeprobe_temperature_celsius"][(("chip", "nvme"), ("sensor", "Composite"))]
        == 38.85
    )
    assert set(samples["nodeprobe_top_process_resident_memory_bytes"]) == {
        (("name", "kube-apiserver"), ("pid", "18241")),
        (("name", "etcd"), ("pid", "18240")),
    }
    # The per-process CPU times used for ranking stay inside; this is the probe's own.
    assert list(samples["nodeprobe_process_cpu_seconds_total"]) == [()]
    # The probe itself: build, collectors, collections, push and its own process.
    assert samples["nodeprobe_collections_total"] == {(): 2.0}
    assert all(value == 1.0 for value in samples["nodeprobe_collector_up"].values())
    assert len(samples["nodeprobe_collector_up"]) == len(ALL)
    assert samples["nodeprobe_push_buffered_samples"] == {(): 3.0}
    assert samples["nodeprobe_push_dropped_samples_total"] == {(): 1.0}
    assert samples["nodeprobe_push_failures_total"] == {(): 2.0}
    assert samples["nodeprobe_process_resident_memory_bytes"][()] > 1_000_000
    assert list(samples["nodeprobe_build_info"]) == [(("version", "0.1.0"),)]


def test_disabled_collectors_show_as_down_with_their_reason(
    tree: Tree, serve: Callable[[Registry, LatestSample, PushStats | None], int]
) -> None:
    registry = registry_for(tree("bare"), ManualClock(), DEFAULT_NAMES)
    latest = LatestSample()
    port = serve(registry, latest, None)
    publish(registry, latest, 1)
    samples, _ = scrape(port)
    up = {
        dict(labels)["collector"]: value
        for labels, value in samples["nodeprobe_collector_up"].items()
    }
    assert up == {
        "cpu": 1.0,
        "memory": 1.0,
        "pressure": 0.0,
        "disk": 1.0,
        "network": 1.0,
        "sensors": 0.0,
        "system": 1.0,
    }
    disabled = {
        dict(labels)["collector"]: dict(labels)
        for labels in samples["nodeprobe_collector_disabled"]
    }
    assert disabled["pressure"]["state"] == "unavailable"
    assert "PSI" in disabled["pressure"]["reason"]
    assert "nodeprobe_pressure_percent" not in samples
    assert "nodeprobe_push_buffered_samples" not in samples, "no push configured, no push metrics"
