"""Pressure stall information (PSI): how much work waited on CPU, memory and I/O.

Reads ``<procfs>/pressure/{cpu,memory,io}`` (Linux 4.20+ with CONFIG_PSI; psutil has no
reader). Each file has a ``some`` line (at least one task stalled) and, except for cpu
before Linux 5.13, a ``full`` line (all non-idle tasks stalled), each with the kernel's
averages over 10, 60 and 300 seconds and the total stall time in microseconds.

Without the directory, or with PSI switched off at boot (reads fail with EOPNOTSUPP),
the collector is unavailable: that is the kernel's choice, not an error.
"""

from __future__ import annotations

import errno
import os

from nodeprobe.collectors.common import Collector, Host, Options, Unavailable, read_text
from nodeprobe.model import Field, Readings

RESOURCES = ("cpu", "memory", "io")
_WINDOWS = {"avg10": "10s", "avg60": "60s", "avg300": "300s"}

FIELDS = (
    Field(
        "pressure_percent",
        "gauge",
        "percent",
        "Share of time in which some (scope=some) or all (scope=full) non-idle tasks were "
        "stalled on the resource, averaged by the kernel over the window.",
        ("resource", "scope", "window"),
    ),
    Field(
        "pressure_stalled_seconds_total",
        "counter",
        "seconds",
        "Total time in which some or all non-idle tasks were stalled on the resource.",
        ("resource", "scope"),
    ),
)


def sample(host: Host, options: Options) -> Readings:
    directory = host.proc("pressure")
    if not os.path.isdir(directory):
        raise Unavailable(
            f"{directory} does not exist: this kernel has no pressure stall information "
            "(Linux 4.20+ with CONFIG_PSI)"
        )
    readings: Readings = {}
    for resource in RESOURCES:
        path = os.path.join(directory, resource)
        try:
            text = read_text(path)
        except FileNotFoundError:
            continue
        except OSError as error:
            if error.errno == errno.EOPNOTSUPP:
                raise Unavailable(f"{path}: PSI is switched off (boot with psi=1)") from None
            raise
        for line in text.splitlines():
            scope, *pairs = line.split()
            for pair in pairs:
                key, _, value = pair.partition("=")
                if key == "total":
                    stalled = int(value) / 1e6
                    readings[
                        (
                            "pressure_stalled_seconds_total",
                            (("resource", resource), ("scope", scope)),
                        )
                    ] = stalled
                elif key in _WINDOWS:
                    labels = (("resource", resource), ("scope", scope), ("window", _WINDOWS[key]))
                    readings[("pressure_percent", labels)] = float(value)
    if not readings:
        raise Unavailable(f"{directory} has none of {', '.join(RESOURCES)}")
    return readings


COLLECTOR = Collector("pressure", FIELDS, sample)
