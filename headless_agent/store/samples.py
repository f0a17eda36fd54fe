"""Node metric samples as the probe delivers them, and series as charts ask for them.

The probe (a later issue) sends one ``NodeSamples`` per node and scrape: a timestamp and
the values of that node's series, counters and gauges apart. An agent that fills a gap
after the laptop slept, or a benchmark, sends a ``NodeSampleBlock``: many scrapes of one
node as a matrix, which the store encodes without a row per sample.

Series names are free text. A probe series (a field name plus sorted labels) is named
the way Prometheus writes it, ``series_name("cpu_seconds_total", {"cpu": "0", "mode":
"user"})`` → ``cpu_seconds_total{cpu="0",mode="user"}``, so one node's CPU, per-core,
load, memory, swap, PSI, disk, network and temperature series all fit, and a query selects
them with shell-style patterns (``cpu_seconds_total{*mode="user"}``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


def series_name(field: str, labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> str:
    """A series' stored name: the field, then its labels sorted by name."""
    pairs = sorted(labels.items() if isinstance(labels, Mapping) else labels)
    if not pairs:
        return field
    inner = ",".join(f'{k}="{v}"' for k, v in pairs)
    return f"{field}{{{inner}}}"


class SeriesKind(enum.Enum):
    """A gauge is charted as is; a counter (only ever grows, except when reset) as a rate."""

    GAUGE = "gauge"
    COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class NodeSamples:
    """One scrape of one node: ``timestamp`` in seconds since the epoch."""

    node: str
    timestamp: float
    gauges: Mapping[str, float] = field(default_factory=dict)
    counters: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.node:
            raise ValueError("a sample batch needs the node's name")
        if not math.isfinite(self.timestamp):
            raise ValueError(f"{self.node}: timestamp {self.timestamp!r} is not a time")
        overlap = set(self.gauges) & set(self.counters)
        if overlap:
            raise ValueError(f"{self.node}: {sorted(overlap)} are marked gauge and counter")


@dataclass(frozen=True, slots=True, eq=False)
class NodeSampleBlock:
    """Many scrapes of one node: ``values[i, j]`` is series ``names[j]`` at
    ``timestamps[i]`` (NaN: not sampled then). ``counters`` names the counter series."""

    node: str
    timestamps: npt.NDArray[np.float64]
    names: Sequence[str]
    values: npt.NDArray[np.float64]
    counters: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.node:
            raise ValueError("a sample block needs the node's name")
        if self.values.shape != (len(self.timestamps), len(self.names)):
            raise ValueError(
                f"{self.node}: values are {self.values.shape}, expected "
                f"({len(self.timestamps)}, {len(self.names)})"
            )
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"{self.node}: a series name appears twice")

    @classmethod
    def of(cls, batches: Iterable[NodeSamples]) -> list[NodeSampleBlock]:
        """Group scrapes into one block per node."""
        by_node: dict[str, list[NodeSamples]] = {}
        for batch in batches:
            by_node.setdefault(batch.node, []).append(batch)
        blocks = []
        for node, scrapes in by_node.items():
            names: dict[str, int] = {}
            counters: set[str] = set()
            for scrape in scrapes:
                for name in scrape.gauges:
                    names.setdefault(name, len(names))
                for name in scrape.counters:
                    names.setdefault(name, len(names))
                    counters.add(name)
            values = np.full((len(scrapes), len(names)), np.nan)
            for row, scrape in enumerate(scrapes):
                for mapping in (scrape.gauges, scrape.counters):
                    for name, value in mapping.items():
                        values[row, names[name]] = value
            times = np.array([s.timestamp for s in scrapes], dtype=np.float64)
            blocks.append(cls(node, times, list(names), values, frozenset(counters)))
        return blocks


@dataclass(frozen=True, slots=True)
class SeriesSelector:
    """A set of series: one cluster, some nodes (None: all), some names (None: all).

    ``nodes`` and ``names`` hold exact names or shell-style patterns (``cpu.core*``).
    """

    cluster: str
    nodes: tuple[str, ...] | None = None
    names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    cluster: str
    node: str
    name: str
    kind: SeriesKind


@dataclass(frozen=True, slots=True, eq=False)
class SeriesPoints:
    """One series at one resolution, ready to chart.

    ``times`` are the start of each bucket (raw: the sample's time), in seconds. For a
    counter every band is a rate per second. ``step`` is the bucket width in seconds, or
    None for raw samples; ``resolution`` names the tier the points came from.
    """

    series: SeriesInfo
    resolution: str
    step: float | None
    times: npt.NDArray[np.float64]
    minimum: npt.NDArray[np.float64]
    average: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    last: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.times)
