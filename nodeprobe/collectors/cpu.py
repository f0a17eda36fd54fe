"""CPU: time per logical CPU and mode, usage percentages, load averages, CPU count.

Reads ``<procfs>/stat`` and ``<procfs>/loadavg`` directly. psutil's ``cpu_times(percpu=True)``
numbers CPUs by position, so with one CPU offline every later CPU would take the wrong
number; the kernel's own ``cpuN`` names are kept here instead. ``guest`` and
``guest_nice`` are left out: the kernel already counts them in ``user`` and ``nice``.
"""

from __future__ import annotations

import os

from nodeprobe.collectors.common import Collector, Host, Options, read_text
from nodeprobe.model import Field, Readings
from nodeprobe.rates import counter_increase

MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_TICKS_PER_SECOND = float(os.sysconf("SC_CLK_TCK"))

FIELDS = (
    Field(
        "cpu_seconds_total",
        "counter",
        "seconds",
        "Seconds each logical CPU spent in each mode since boot.",
        ("cpu", "mode"),
    ),
    Field(
        "cpu_usage_percent",
        "gauge",
        "percent",
        "Share of the time of all CPUs spent in each mode over the last interval.",
        ("mode",),
    ),
    Field(
        "cpu_core_usage_percent",
        "gauge",
        "percent",
        "Share of one logical CPU's time spent in each mode over the last interval.",
        ("cpu", "mode"),
    ),
    Field("cpu_count", "gauge", "cpus", "Logical CPUs online."),
    Field("load1", "gauge", "tasks", "Load average over the last minute."),
    Field("load5", "gauge", "tasks", "Load average over the last 5 minutes."),
    Field("load15", "gauge", "tasks", "Load average over the last 15 minutes."),
)


def sample(host: Host, options: Options) -> Readings:
    readings: Readings = {}
    cpus = 0
    for line in read_text(host.proc("stat")).splitlines():
        if not line.startswith("cpu"):
            if cpus:
                break  # the cpu lines come first; nothing after them is needed
            continue
        name, *ticks = line.split()
        if name == "cpu":
            continue
        cpus += 1
        cpu = name[3:]
        for mode, value in zip(MODES, ticks, strict=False):
            key = ("cpu_seconds_total", (("cpu", cpu), ("mode", mode)))
            readings[key] = int(value) / _TICKS_PER_SECOND
    if not cpus:
        raise ValueError(f"no cpuN lines in {host.proc('stat')}")
    readings[("cpu_count", ())] = float(cpus)
    load1, load5, load15 = read_text(host.proc("loadavg")).split()[:3]
    readings[("load1", ())] = float(load1)
    readings[("load5", ())] = float(load5)
    readings[("load15", ())] = float(load15)
    return readings


def derive(
    previous: Readings | None, current: Readings, elapsed: float | None, options: Options
) -> Readings:
    """Percent of time per mode, per CPU and over all CPUs, from the tick deltas."""
    if previous is None or not elapsed:
        return {}
    spent_per_cpu: dict[str, dict[str, float]] = {}
    for key, value in current.items():
        if key[0] != "cpu_seconds_total":
            continue
        before = previous.get(key)
        if before is None:
            continue
        (_, cpu), (_, mode) = key[1]
        # iowait (and with it idle) can step back by a tick on tickless kernels; that is
        # no time spent. A real reset sends every mode back, so the CPU's total is 0.
        increase = counter_increase(before, value)
        spent_per_cpu.setdefault(cpu, {})[mode] = increase or 0.0
    derived: Readings = {}
    all_cpus = dict.fromkeys(MODES, 0.0)
    for cpu, per_mode in spent_per_cpu.items():
        spent = sum(per_mode.values())
        # One CPU cannot spend more seconds than passed (a tick of slack for rounding);
        # more means counters that jumped, e.g. a CPU brought back online.
        if spent <= 0 or spent > elapsed * 1.5 + 2 / _TICKS_PER_SECOND:
            continue
        for mode, seconds in per_mode.items():
            derived[("cpu_core_usage_percent", (("cpu", cpu), ("mode", mode)))] = (
                100.0 * seconds / spent
            )
            all_cpus[mode] += seconds
    total = sum(all_cpus.values())
    if total > 0:
        for mode, seconds in all_cpus.items():
            derived[("cpu_usage_percent", (("mode", mode),))] = 100.0 * seconds / total
    return derived


COLLECTOR = Collector("cpu", FIELDS, sample, derive)
