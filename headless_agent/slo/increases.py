"""Counter increases between scrapes, and their sums per target and minute.

A counter that goes down was reset (the controller pod restarted, or its metrics were
reloaded): the increase is then its new value, as PromQL's ``increase()`` counts it. Every
histogram bucket is a counter of its own and gets the same treatment. The first scrape of
a source is only a baseline; a series that appears later counts from zero.

An increase is booked to the minute in which the scrape that saw it was taken: the sum of
a range of minutes is then exactly the counters' growth between the last scrape before
the range and the last scrape in it (no extrapolation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from headless_agent.slo.controllers import Reading, SeriesLabels

MINUTE = 60.0


def counter_increase(previous: float | None, current: float) -> float:
    """The growth of a counter between two readings (a drop is a reset to zero)."""
    if previous is None or current < previous:
        return current
    return current - previous


class CounterIncreases:
    """The last reading of every source (a controller pod), to turn readings into
    increases."""

    def __init__(self) -> None:
        self._last: dict[str, Reading] = {}

    def observe(self, source: str, reading: Reading) -> Reading | None:
        """Increases since the source's previous reading (None for its first)."""
        previous = self._last.get(source)
        self._last[source] = reading
        if previous is None:
            return None
        return {key: counter_increase(previous.get(key), value) for key, value in reading.items()}

    def forget(self, source: str) -> None:
        self._last.pop(source, None)

    @property
    def sources(self) -> set[str]:
        return set(self._last)


@dataclass(slots=True)
class MinuteTraffic:
    """What one target (a host and path) served in one minute: requests by status and the
    cumulative latency buckets (upper bound in seconds → requests at most that slow)."""

    target: str
    start: float
    seconds: float = MINUTE
    statuses: dict[str, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=dict)

    def add(self, other: MinuteTraffic) -> None:
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0.0) + count
        for bound, count in other.buckets.items():
            self.buckets[bound] = self.buckets.get(bound, 0.0) + count

    @property
    def requests(self) -> float:
        return sum(self.statuses.values())


TargetOf = Callable[[SeriesLabels], str | None]


def by_target(
    increases: Mapping[tuple[SeriesLabels, str, str, str], float],
    target_of: TargetOf,
    start: float,
    seconds: float = MINUTE,
) -> dict[str, MinuteTraffic]:
    """Increases summed per target (series that map to no target are left out)."""
    traffic: dict[str, MinuteTraffic] = {}
    targets: dict[SeriesLabels, str | None] = {}
    for (series, kind, detail, _), value in increases.items():
        if series not in targets:
            targets[series] = target_of(series)
        target = targets[series]
        if target is None:
            continue
        minute = traffic.get(target)
        if minute is None:
            minute = traffic[target] = MinuteTraffic(target, start, seconds)
        if kind == "status":
            minute.statuses[detail] = minute.statuses.get(detail, 0.0) + value
        else:
            bound = float(detail)
            minute.buckets[bound] = minute.buckets.get(bound, 0.0) + value
    return traffic


class MinuteBook:
    """Increases booked to the minute (``step`` seconds) their scrape was taken in, per
    target; ``close`` hands over the minutes that are over."""

    def __init__(self, target_of: TargetOf, *, step: float = MINUTE) -> None:
        self.target_of = target_of
        self.step = step
        self.counters = CounterIncreases()
        self._open: dict[tuple[str, float], MinuteTraffic] = {}
        #: sources that answered in a minute (a minute with none has no data, not zero)
        self._seen: dict[float, set[str]] = {}

    def minute_of(self, at: float) -> float:
        return math.floor(at / self.step) * self.step

    def observe(self, source: str, at: float, reading: Reading) -> None:
        start = self.minute_of(at)
        self._seen.setdefault(start, set()).add(source)
        increases = self.counters.observe(source, reading)
        if increases is None:
            return
        for target, traffic in by_target(increases, self.target_of, start, self.step).items():
            booked = self._open.get((target, start))
            if booked is None:
                self._open[(target, start)] = traffic
            else:
                booked.add(traffic)

    def close(self, now: float) -> list[MinuteTraffic]:
        """The minutes that ended by ``now``, oldest first: one per target whose series a
        controller served in that minute (with zero traffic if nothing moved); a target
        whose series are gone, or whose controller did not answer, has no minute."""
        current = self.minute_of(now)
        done = {start for start in self._seen if start < current}
        for start in done:
            self._seen.pop(start)
        closed = [self._open.pop(key) for key in sorted(self._open) if key[1] in done]
        return sorted(closed, key=lambda m: (m.start, m.target))


def total_traffic(
    minutes: Iterable[MinuteTraffic], target: str, start: float, seconds: float
) -> MinuteTraffic:
    """The sum of several minutes (of one target, or of several as one)."""
    total = MinuteTraffic(target, start, seconds)
    for minute in minutes:
        total.add(minute)
    return total
