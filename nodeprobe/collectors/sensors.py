"""Temperatures: hwmon sensors, or the thermal zones when there are none.

Reads ``<sysfs>/class/hwmon/hwmon*/temp*_input`` (chip from ``name``, sensor from
``temp*_label``), and only if that finds nothing, ``<sysfs>/class/thermal/thermal_zone*``.
psutil's ``sensors_temperatures`` reads the fixed ``/sys``, so a container could not
point it at the host's. Sensors that fail to read (many report EIO or ENODATA when
idle or absent) are left out; with no sensor at all the collector is unavailable,
as on most virtual machines.
"""

from __future__ import annotations

import os
import re

from nodeprobe.collectors.common import Collector, Host, Options, Unavailable, read_first_line
from nodeprobe.model import Field, Readings

FIELDS = (
    Field(
        "temperature_celsius",
        "gauge",
        "celsius",
        "Temperature reported by a hardware sensor (hwmon) or a thermal zone.",
        ("chip", "sensor"),
    ),
)

_TEMP_INPUT = re.compile(r"^temp(\d+)_input$")


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _hwmon(host: Host) -> Readings:
    readings: Readings = {}
    base = host.sys("class", "hwmon")
    for entry in _listdir(base):
        chip_dir = os.path.join(base, entry)
        # Old drivers keep their files under device/ rather than in the hwmon directory.
        for directory in (chip_dir, os.path.join(chip_dir, "device")):
            names = _listdir(directory)
            inputs = [name for name in names if _TEMP_INPUT.match(name)]
            if not inputs:
                continue
            try:
                chip = read_first_line(os.path.join(directory, "name")) or entry
            except OSError:
                chip = entry
            for name in inputs:
                number = name[4:-6]
                try:
                    millidegrees = int(read_first_line(os.path.join(directory, name)))
                except (OSError, ValueError):
                    continue
                try:
                    sensor = read_first_line(os.path.join(directory, f"temp{number}_label"))
                except OSError:
                    sensor = ""
                key = (
                    "temperature_celsius",
                    (("chip", chip), ("sensor", sensor or f"temp{number}")),
                )
                if key in readings:  # two chips of one kind (two sockets): tell them apart
                    key = (key[0], (("chip", f"{chip} ({entry})"), key[1][1]))
                readings[key] = millidegrees / 1000.0
            break
    return readings


def _thermal_zones(host: Host) -> Readings:
    readings: Readings = {}
    base = host.sys("class", "thermal")
    for zone in _listdir(base):
        if not zone.startswith("thermal_zone"):
            continue
        directory = os.path.join(base, zone)
        try:
            millidegrees = int(read_first_line(os.path.join(directory, "temp")))
            kind = read_first_line(os.path.join(directory, "type"))
        except (OSError, ValueError):
            continue
        readings[("temperature_celsius", (("chip", kind or zone), ("sensor", zone)))] = (
            millidegrees / 1000.0
        )
    return readings


def sample(host: Host, options: Options) -> Readings:
    readings = _hwmon(host) or _thermal_zones(host)
    if not readings:
        raise Unavailable(
            f"no temperature sensor under {host.sys('class', 'hwmon')} or "
            f"{host.sys('class', 'thermal')} (usual on virtual machines)"
        )
    return readings


COLLECTOR = Collector("sensors", FIELDS, sample)
