"""System: uptime, number of processes, open file descriptors.

``<procfs>/uptime`` and ``<procfs>/sys/fs/file-nr`` are read directly (psutil has no
reader for either); the process count is psutil's ``pids()``, which lists the
numeric entries of its procfs root.
"""

from __future__ import annotations

import psutil

from nodeprobe.collectors.common import Collector, Host, Options, psutil_reading, read_text
from nodeprobe.model import Field, Readings

FIELDS = (
    Field("uptime_seconds", "gauge", "seconds", "Seconds since the node booted."),
    Field("processes", "gauge", "processes", "Processes on the node."),
    Field(
        "file_descriptors_allocated",
        "gauge",
        "descriptors",
        "File handles the kernel has allocated (first column of file-nr minus the second).",
    ),
    Field(
        "file_descriptors_maximum",
        "gauge",
        "descriptors",
        "The kernel's limit on file handles (fs.file-max).",
    ),
)


def sample(host: Host, options: Options) -> Readings:
    with psutil_reading(host):
        processes = len(psutil.pids())
    uptime = float(read_text(host.proc("uptime")).split()[0])
    allocated, unused, maximum = read_text(host.proc("sys", "fs", "file-nr")).split()[:3]
    return {
        ("uptime_seconds", ()): uptime,
        ("processes", ()): float(processes),
        ("file_descriptors_allocated", ()): float(int(allocated) - int(unused)),
        ("file_descriptors_maximum", ()): float(maximum),
    }


COLLECTOR = Collector("system", FIELDS, sample)
