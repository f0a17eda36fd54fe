"""The probe's plain data: field tables, readings, samples and collector states.

Everything here is small frozen data with no behaviour beyond construction, shared by
the collectors, the wire format and the exposition. The in-cluster agent imports it
(through `nodeprobe.wire`), so this module imports nothing heavy.

A *series* is a field name plus its labels, e.g. ``("cpu_seconds_total", (("cpu", "0"),
("mode", "user")))``. Labels are kept as a tuple of ``(name, value)`` pairs sorted by
name, so equal series are equal keys no matter how they were built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

Kind: TypeAlias = Literal["counter", "gauge"]
Labels: TypeAlias = tuple[tuple[str, str], ...]
SeriesKey: TypeAlias = tuple[str, Labels]
Readings: TypeAlias = dict[SeriesKey, float]

KINDS: tuple[Kind, ...] = ("counter", "gauge")
NO_LABELS: Labels = ()


def series(name: str, **labels: str) -> SeriesKey:
    """The key of one series: ``series("cpu_seconds_total", cpu="0", mode="user")``."""
    return name, tuple(sorted(labels.items()))


@dataclass(frozen=True, slots=True)
class Field:
    """One row of a collector's field table.

    Counters only ever grow (until the kernel resets or wraps them); gauges are values
    at the time of collection. A gauge with ``rate_of`` is derived by the probe: the
    per-second increase of that counter between two collections, times ``scale``.

    Attributes:
        name: snake_case, unique across all collectors; ``nodeprobe_`` is prepended on
            ``/metrics``. Counters end in ``_total``.
        kind: ``"counter"`` or ``"gauge"``.
        unit: what one unit of the value is (``bytes``, ``seconds``, ``percent`` …).
        help: one sentence for people reading ``/metrics`` or the agent's field table.
        labels: the label names every series of this field carries.
        wrap_at: for counters the kernel keeps in fewer bits than Python does: the value
            at which it wraps back to zero (in this field's unit).
        max_rate: for counters: a per-second increase above this is not believable (a
            device replaced under the same name, a bogus reading) and yields no rate.
        rate_of: for derived gauges: the counter whose per-second increase this is.
        scale: for derived gauges: the factor applied to the rate (100 for percent).
        ceiling: for derived gauges: the highest meaningful value (100 for a busy %).
        publish: False for internal readings a collector needs only to derive others.
    """

    name: str
    kind: Kind
    unit: str
    help: str
    labels: tuple[str, ...] = ()
    wrap_at: float | None = None
    max_rate: float | None = None
    rate_of: str | None = None
    scale: float = 1.0
    ceiling: float | None = None
    publish: bool = True


@dataclass(frozen=True, slots=True)
class Sample:
    """One collection: every value the enabled collectors produced at one moment.

    Attributes:
        timestamp: Unix time (seconds) when the collection started.
        elapsed_seconds: monotonic seconds since the previous collection, or None for
            the first one, which therefore carries no rates.
        values: series → value. Counters and gauges; the field table says which.
    """

    timestamp: float
    elapsed_seconds: float | None
    values: Mapping[SeriesKey, float]


CollectorState: TypeAlias = Literal["unavailable", "failed"]
COLLECTOR_STATES: tuple[CollectorState, ...] = ("unavailable", "failed")


@dataclass(frozen=True, slots=True)
class DisabledCollector:
    """A collector that no longer runs, and why.

    ``unavailable``: the host lacks what it reads (no PSI in this kernel, no sensors);
    ``failed``: it raised an unexpected error, recorded in ``reason``.
    """

    collector: str
    state: CollectorState
    reason: str
