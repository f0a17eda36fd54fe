"""Network: bytes, packets, errors and drops per interface, as counters and per second.

Reads ``<procfs>/net/dev`` through psutil (``net_io_counters(pernic=True, nowrap=False)``:
psutil's own wrap correction would add the old value after a reset and hide it from
the rate helper). ``/proc/net`` is the network namespace of the reader, so in a
container the probe needs the host's network (``hostNetwork: true``), as node_exporter
does. Container plumbing (veth pairs, CNI bridges and tunnels) is skipped by pattern.
"""

from __future__ import annotations

import psutil

from nodeprobe.collectors.common import Collector, Host, Options, psutil_reading
from nodeprobe.model import Field, Readings

# (counter, rate gauge, psutil attribute, unit, what, believable maximum per second)
_COUNTERS = (
    ("receive_bytes", "bytes_recv", "bytes", "Bytes received", 1e11),
    ("transmit_bytes", "bytes_sent", "bytes", "Bytes sent", 1e11),
    ("receive_packets", "packets_recv", "packets", "Packets received", 1e9),
    ("transmit_packets", "packets_sent", "packets", "Packets sent", 1e9),
    ("receive_errors", "errin", "errors", "Receive errors", 1e9),
    ("transmit_errors", "errout", "errors", "Transmit errors", 1e9),
    ("receive_drops", "dropin", "packets", "Received packets dropped", 1e9),
    ("transmit_drops", "dropout", "packets", "Packets dropped before sending", 1e9),
)

FIELDS = tuple(
    Field(
        f"network_{stem}_total",
        "counter",
        unit,
        f"{what} on the interface.",
        ("interface",),
        max_rate=max_rate,
    )
    for stem, _attribute, unit, what, max_rate in _COUNTERS
) + tuple(
    Field(
        f"network_{stem}_per_second",
        "gauge",
        f"{unit}/s",
        f"{what} per second over the last interval.",
        ("interface",),
        rate_of=f"network_{stem}_total",
    )
    for stem, _attribute, unit, what, _max_rate in _COUNTERS
)
_NAMES = tuple((f"network_{stem}_total", attribute) for stem, attribute, *_ in _COUNTERS)


def sample(host: Host, options: Options) -> Readings:
    with psutil_reading(host):
        interfaces = psutil.net_io_counters(pernic=True, nowrap=False)
    readings: Readings = {}
    for interface, counters in interfaces.items():
        if options.skip_interfaces.search(interface):
            continue
        labels = (("interface", interface),)
        for name, attribute in _NAMES:
            readings[(name, labels)] = float(getattr(counters, attribute))
    return readings


COLLECTOR = Collector("network", FIELDS, sample)
