"""The registry: runs the collectors, keeps their previous readings, derives, reports.

One `collect()` call runs every enabled collector once and returns one `Sample`. A
collector that raises is disabled and listed in `disabled` (``unavailable`` when the
host lacks what it reads, ``failed`` for anything else, with the error in words); the
others carry on. A disabled collector stays disabled until the probe restarts: it is
reported in every batch and on ``/metrics``, not retried into a flood of the same error.
Rates come from the shared helper in `nodeprobe.rates`, per collector, over the
monotonic time between its own two readings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from nodeprobe.collectors.common import Collector, Host, Options, Unavailable
from nodeprobe.model import CollectorState, DisabledCollector, Field, Readings, Sample
from nodeprobe.rates import CounterWindow, RatePlan

log = logging.getLogger("nodeprobe")


class Registry:
    """The enabled collectors of one probe and their memory of the last collection."""

    def __init__(
        self,
        collectors: Sequence[Collector],
        host: Host,
        options: Options,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.options = options
        self._collectors = tuple(collectors)
        self._clock = clock
        self._wall_clock = wall_clock
        self._windows = {c.name: CounterWindow(clock) for c in self._collectors}
        self._plans = {c.name: RatePlan(c.fields) for c in self._collectors}
        self._disabled: dict[str, DisabledCollector] = {}
        self._previous_start: float | None = None
        self.durations: dict[str, float] = {}
        seen: dict[str, str] = {}
        for collector in self._collectors:
            for field in collector.fields:
                if field.name in seen:
                    raise ValueError(
                        f"field {field.name} is defined by both {seen[field.name]} and "
                        f"{collector.name}"
                    )
                seen[field.name] = collector.name
        self.fields: tuple[Field, ...] = tuple(
            field for collector in self._collectors for field in collector.fields if field.publish
        )
        self._hidden = frozenset(
            field.name for collector in self._collectors for field in collector.fields
        ) - {field.name for field in self.fields}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(collector.name for collector in self._collectors)

    @property
    def disabled(self) -> tuple[DisabledCollector, ...]:
        return tuple(self._disabled.values())

    def collect(self) -> Sample:
        """Run every enabled collector once; never raises because of a collector."""
        timestamp = self._wall_clock()
        start = self._clock()
        elapsed = None if self._previous_start is None else start - self._previous_start
        self._previous_start = start
        values: Readings = {}
        for collector in self._collectors:
            if collector.name in self._disabled:
                continue
            taken_at = self._clock()
            try:
                readings = collector.sample(self.host, self.options)
                previous, since = self._windows[collector.name].advance(readings, taken_at)
                derived = self._derive(collector, previous, readings, since)
            except Unavailable as reason:
                self._disable(collector.name, "unavailable", str(reason))
                continue
            except Exception as error:
                log.exception("collector %s failed and is disabled", collector.name)
                self._disable(collector.name, "failed", f"{type(error).__name__}: {error}")
                continue
            self.durations[collector.name] = self._clock() - taken_at
            hidden = self._hidden
            # "value - value == 0" is the finiteness test without a call per value:
            # NaN and infinities are never published (JSON has no such numbers).
            for key, value in readings.items():
                if value - value == 0 and key[0] not in hidden:
                    values[key] = value
            for key, value in derived.items():
                if value - value == 0:
                    values[key] = value
        return Sample(timestamp=timestamp, elapsed_seconds=elapsed, values=values)

    def _derive(
        self,
        collector: Collector,
        previous: Readings | None,
        current: Readings,
        elapsed: float | None,
    ) -> Readings:
        if collector.derive is not None:
            return collector.derive(previous, current, elapsed, self.options)
        plan = self._plans[collector.name]
        if not plan or previous is None or not elapsed:
            return {}
        return plan.derive(previous, current, elapsed)

    def _disable(self, name: str, state: CollectorState, reason: str) -> None:
        if state == "unavailable":
            log.info("collector %s is unavailable on this host: %s", name, reason)
        self._disabled[name] = DisabledCollector(name, state, reason[:500])
        self.durations.pop(name, None)
