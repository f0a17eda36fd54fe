"""Top processes by CPU and by resident memory (off unless a count is configured).

Reads one file per process, ``<procfs>/<pid>/stat`` (name, CPU ticks, start time,
resident pages); psutil would read two per process for the same figures. Every
process's CPU time is kept between collections (an unpublished counter, keyed by pid
*and* start time so a reused pid never inherits another's time); only the top N by
CPU and the top N by memory are published. Processes that exit while being read are
skipped. Process names are the kernel's ``comm`` (at most 15 characters).
"""

from __future__ import annotations

import heapq
import os

from nodeprobe.collectors.common import Collector, Host, Options
from nodeprobe.model import Field, Labels, Readings
from nodeprobe.rates import per_second

_TICKS_PER_SECOND = float(os.sysconf("SC_CLK_TCK"))
_PAGE_BYTES = float(os.sysconf("SC_PAGE_SIZE"))
_RAW_LABELS = ("name", "pid", "start")

FIELDS = (
    Field(
        "process_cpu_seconds_total",
        "counter",
        "seconds",
        "CPU time of each process (user + system); kept to rank processes, not published.",
        _RAW_LABELS,
        max_rate=10_000.0,
        publish=False,
    ),
    Field(
        "process_resident_memory_bytes",
        "gauge",
        "bytes",
        "Resident memory of each process; kept to rank processes, not published.",
        _RAW_LABELS,
        publish=False,
    ),
    Field(
        "top_process_cpu_percent",
        "gauge",
        "percent",
        "CPU used over the last interval by the busiest processes, in percent of one CPU.",
        ("name", "pid"),
    ),
    Field(
        "top_process_resident_memory_bytes",
        "gauge",
        "bytes",
        "Resident memory of the processes that hold the most.",
        ("name", "pid"),
    ),
)


def sample(host: Host, options: Options) -> Readings:
    readings: Readings = {}
    for entry in os.scandir(host.procfs):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as file:
                text = file.read().decode("utf-8", "replace")
        except OSError:
            continue  # gone since the directory was listed, or not ours to read
        open_paren, close_paren = text.find("("), text.rfind(")")
        if open_paren < 0 or close_paren < open_paren:
            continue
        name = text[open_paren + 1 : close_paren]
        rest = text[close_paren + 2 :].split()
        # After the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
        # cmajflt utime(11) stime(12) … starttime(19) vsize(20) rss(21)
        if len(rest) < 22:
            continue
        labels = (("name", name), ("pid", entry.name), ("start", rest[19]))
        readings[("process_cpu_seconds_total", labels)] = (
            int(rest[11]) + int(rest[12])
        ) / _TICKS_PER_SECOND
        readings[("process_resident_memory_bytes", labels)] = int(rest[21]) * _PAGE_BYTES
    return readings


def _published(labels: Labels) -> Labels:
    return labels[:2]  # (name, pid): the start time only keeps identities apart


def derive(
    previous: Readings | None, current: Readings, elapsed: float | None, options: Options
) -> Readings:
    count = options.top_processes
    derived: Readings = {}
    if count <= 0:
        return derived
    memory = [
        (value, key[1])
        for key, value in current.items()
        if key[0] == "process_resident_memory_bytes"
    ]
    for value, labels in heapq.nlargest(count, memory):
        derived[("top_process_resident_memory_bytes", _published(labels))] = value
    if previous is None or not elapsed:
        return derived
    busy: list[tuple[float, Labels]] = []
    for key, value in current.items():
        if key[0] != "process_cpu_seconds_total":
            continue
        before = previous.get(key)
        if before is None:
            continue
        rate = per_second(before, value, elapsed, max_rate=10_000.0)
        if rate is not None:
            busy.append((rate, key[1]))
    for rate, labels in heapq.nlargest(count, busy):
        derived[("top_process_cpu_percent", _published(labels))] = 100.0 * rate
    return derived


COLLECTOR = Collector("processes", FIELDS, sample, derive)
