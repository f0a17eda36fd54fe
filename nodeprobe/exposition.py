"""``/metrics``: the latest collection in the Prometheus text format.

A custom prometheus_client collector renders the latest `Sample` (replaced atomically
by the collection loop, so a scrape never sees half a collection) with names in
node_exporter's manner, prefixed ``nodeprobe_``. A scrape does not collect: Prometheus
sees the counters as of the probe's last collection, and its ``rate()`` works on them
as usual. Alongside are the probe's own figures: which collectors run (and why not),
collection time, push buffer and losses, and the process's own CPU and memory.

prometheus_client's own HTTP server (a thread per request) serves it; nothing here
speaks HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from nodeprobe import __version__
from nodeprobe.model import DisabledCollector, Field, Sample
from nodeprobe.push import PushStats

PREFIX = "nodeprobe_"


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    """Everything ``/metrics`` shows about the probe itself, as of the last collection."""

    collections: int = 0
    last_duration_seconds: float = 0.0
    collector_seconds: dict[str, float] = field(default_factory=dict)
    disabled: tuple[DisabledCollector, ...] = ()


class LatestSample:
    """The latest collection and the probe's status, handed from the loop to scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sample: Sample | None = None
        self._status = ProbeStatus()

    def publish(
        self,
        sample: Sample,
        *,
        collections: int,
        duration: float,
        collector_seconds: dict[str, float],
        disabled: tuple[DisabledCollector, ...],
    ) -> None:
        """Make ``sample`` the one scrapes see, with the probe's status at that time."""
        status = ProbeStatus(collections, duration, collector_seconds, disabled)
        with self._lock:
            self._sample, self._status = sample, status

    def read(self) -> tuple[Sample | None, ProbeStatus]:
        with self._lock:
            return self._sample, self._status


class SampleCollector(Collector):
    """Renders the latest sample (and the probe's status) as metric families."""

    def __init__(
        self,
        latest: LatestSample,
        fields: Sequence[Field],
        collectors: Sequence[str],
        push_stats: Callable[[], PushStats] | None = None,
    ) -> None:
        self._latest = latest
        self._fields = tuple(fields)
        self._collectors = tuple(collectors)
        self._push_stats = push_stats

    def collect(self) -> Iterator[Metric]:
        sample, status = self._latest.read()
        yield from self._probe_metrics(status)
        if sample is None:
            return
        by_name: dict[str, list[tuple[tuple[tuple[str, str], ...], float]]] = {}
        for (name, labels), value in sample.values.items():
            by_name.setdefault(name, []).append((labels, value))
        for spec in self._fields:
            series = by_name.get(spec.name)
            if not series:
                continue
            family: CounterMetricFamily | GaugeMetricFamily
            if spec.kind == "counter":
                family = CounterMetricFamily(PREFIX + spec.name, spec.help, labels=spec.labels)
            else:
                family = GaugeMetricFamily(PREFIX + spec.name, spec.help, labels=spec.labels)
            for labels, value in series:
                values = dict(labels)
                family.add_metric([values.get(label, "") for label in spec.labels], value)
            yield family

    def _probe_metrics(self, status: ProbeStatus) -> Iterable[Metric]:
        info = GaugeMetricFamily(PREFIX + "build_info", "The probe's version.", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info
        disabled = {entry.collector: entry for entry in status.disabled}
        up = GaugeMetricFamily(
            PREFIX + "collector_up",
            "1 if the collector runs, 0 if it is disabled (see nodeprobe_collector_disabled).",
            labels=["collector"],
        )
        why = GaugeMetricFamily(
            PREFIX + "collector_disabled",
            "A disabled collector: unavailable on this host, or failed, and why.",
            labels=["collector", "state", "reason"],
        )
        seconds = GaugeMetricFamily(
            PREFIX + "collector_duration_seconds",
            "Wall time the collector took in the last collection.",
            labels=["collector"],
        )
        for name in self._collectors:
            entry = disabled.get(name)
            up.add_metric([name], 0.0 if entry else 1.0)
            if entry:
                why.add_metric([name, entry.state, entry.reason], 1.0)
            elif name in status.collector_seconds:
                seconds.add_metric([name], status.collector_seconds[name])
        yield from (up, why, seconds)
        yield CounterMetricFamily(
            PREFIX + "collections", "Collections since the probe started.", status.collections
        )
        yield GaugeMetricFamily(
            PREFIX + "collection_duration_seconds",
            "Wall time of the last collection.",
            status.last_duration_seconds,
        )
        if self._push_stats is None:
            return
        stats = self._push_stats()
        yield GaugeMetricFamily(
            PREFIX + "push_buffered_samples",
            "Collections waiting to be sent to the agent.",
            stats.buffered_samples,
        )
        yield GaugeMetricFamily(
            PREFIX + "push_buffered_bytes",
            "Compressed size of the collections waiting to be sent.",
            stats.buffered_bytes,
        )
        yield CounterMetricFamily(
            PREFIX + "push_sent_samples", "Collections the agent accepted.", stats.sent_samples
        )
        yield CounterMetricFamily(
            PREFIX + "push_dropped_samples",
            "Collections dropped because the buffer was full.",
            stats.dropped_samples,
        )
        yield CounterMetricFamily(
            PREFIX + "push_rejected_samples",
            "Collections the agent refused as malformed or too large.",
            stats.rejected_samples,
        )
        yield CounterMetricFamily(
            PREFIX + "push_failures", "Push attempts that failed.", stats.failed_attempts
        )


def build_registry(collector: SampleCollector) -> CollectorRegistry:
    """A registry with the samples and the probe's own process metrics, nothing else."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(namespace="nodeprobe", registry=registry)
    return registry


class MetricsServer:
    """prometheus_client's HTTP server on ``host:port``, serving ``registry``."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
