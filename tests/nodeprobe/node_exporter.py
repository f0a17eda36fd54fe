"""Prometheus' node_exporter from the distribution's package, as a reference to compare with.

Used by the accuracy test and the benchmark. It is started on 127.0.0.1 with only the
collectors that match nodeprobe's subsystems (cpu, loadavg, meminfo, pressure, stat for
the boot time, filefd, diskstats, filesystem, netdev, hwmon, thermal_zone) and without
its own Go runtime metrics; ``lo`` is not excluded, unlike Debian's default.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

BINARY = "/usr/bin/prometheus-node-exporter"
PACKAGE = "prometheus-node-exporter"
COLLECTORS = (
    "cpu",
    "loadavg",
    "meminfo",
    "pressure",
    "stat",
    "filefd",
    "diskstats",
    "filesystem",
    "netdev",
    "hwmon",
    "thermal_zone",
)

Scrape = dict[str, dict[tuple[tuple[str, str], ...], float]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flags(port: int) -> list[str]:
    return [
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.disable-exporter-metrics",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in COLLECTORS),
        "--collector.netdev.device-exclude=^(veth|cni|flannel|cali|docker)",
    ]


@dataclass
class NodeExporter:
    process: subprocess.Popen[bytes]
    port: int

    def scrape(self) -> tuple[float, Scrape]:
        """One scrape: the monotonic time halfway through it, and every sample."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        started = time.monotonic()
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        finished = time.monotonic()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"node_exporter answered {response.status}: {text[:200]}")
        samples: Scrape = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = tuple(sorted(sample.labels.items()))
                samples.setdefault(sample.name, {})[key] = sample.value
        return (started + finished) / 2, samples


@contextmanager
def node_exporter() -> Iterator[NodeExporter]:
    """Run node_exporter until the block ends; fail with its words if it cannot start."""
    port = free_port()
    process = subprocess.Popen(
        [BINARY, *flags(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    exporter = NodeExporter(process, port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                exporter.scrape()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(
                        f"{BINARY} did not start (install the Debian package {PACKAGE}): "
                        f"{error[-500:]}"
                    ) from None
                time.sleep(0.05)
        yield exporter
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
