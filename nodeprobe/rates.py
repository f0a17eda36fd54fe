"""Rates from counters: the one place that turns two readings into a per-second value.

Kernel counters only grow, except when they do not: a device is removed and comes back
under the same name, a driver resets its statistics, a 32-bit counter wraps, the host
reboots under a probe reading its /proc. A rate computed naively then shows a huge
spike or a negative value. The rules here:

- the first reading of a series has no rate (``None``), never a guess;
- time comes from ``time.monotonic()`` (wall-clock jumps change nothing);
- a counter that went down is a reset, except when the field says the kernel keeps it in
  fewer bits and the previous value was in the upper half of that range: then it
  wrapped, and the increase is counted across the wrap;
- a rate above the field's ``max_rate`` is absurd and dropped (``None``);
- a derived value never exceeds the field's ``ceiling``.

After a reset the new value becomes the baseline, so the next interval has a rate again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from nodeprobe.model import Field, Readings


def counter_increase(
    previous: float, current: float, *, wrap_at: float | None = None
) -> float | None:
    """How much a counter grew, or None if it was reset.

    Args:
        previous: the earlier reading.
        current: the later reading.
        wrap_at: the value at which the kernel's counter wraps to zero, if it is kept
            in fewer bits than a Python int (e.g. ``2**32``).
    """
    if current >= previous:
        return current - previous
    if wrap_at is not None and wrap_at / 2 <= previous < wrap_at and current < wrap_at / 2:
        return wrap_at - previous + current
    return None


def per_second(
    previous: float,
    current: float,
    elapsed: float,
    *,
    wrap_at: float | None = None,
    max_rate: float | None = None,
) -> float | None:
    """The per-second increase of a counter over ``elapsed`` seconds, or None.

    None means: no believable rate for this interval (reset, absurd value, no time).
    """
    if elapsed <= 0:
        return None
    increase = counter_increase(previous, current, wrap_at=wrap_at)
    if increase is None:
        return None
    rate = increase / elapsed
    if max_rate is not None and rate > max_rate:
        return None
    return rate


class RatePlan:
    """The derived gauges of one field table, ready to apply to pairs of readings."""

    __slots__ = ("_by_counter",)

    def __init__(self, fields: Iterable[Field]) -> None:
        by_name = {field.name: field for field in fields}
        self._by_counter: dict[str, list[tuple[Field, Field]]] = {}
        for field in by_name.values():
            if field.rate_of is None:
                continue
            counter = by_name.get(field.rate_of)
            if counter is None or counter.kind != "counter":
                raise ValueError(f"{field.name} is the rate of {field.rate_of!r}, not a counter")
            self._by_counter.setdefault(counter.name, []).append((counter, field))

    def __bool__(self) -> bool:
        return bool(self._by_counter)

    def derive(self, previous: Readings, current: Readings, elapsed: float) -> Readings:
        """Every derived gauge for the series present in both readings."""
        derived: Readings = {}
        for key, value in current.items():
            targets = self._by_counter.get(key[0])
            if targets is None:
                continue
            before = previous.get(key)
            if before is None:
                continue
            counter = targets[0][0]
            rate = per_second(
                before, value, elapsed, wrap_at=counter.wrap_at, max_rate=counter.max_rate
            )
            if rate is None:
                continue
            for _counter, gauge in targets:
                scaled = rate * gauge.scale
                if gauge.ceiling is not None and scaled > gauge.ceiling:
                    scaled = gauge.ceiling
                derived[(gauge.name, key[1])] = scaled
        return derived


class CounterWindow:
    """The previous readings of one collector and when they were taken.

    ``advance()`` swaps in the new readings and returns the old ones with the
    monotonic seconds in between; only the latest readings are kept, so memory follows
    the number of series, not the uptime.
    """

    __slots__ = ("_clock", "_previous", "_taken_at")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._previous: Readings | None = None
        self._taken_at = 0.0

    def advance(
        self, readings: Readings, taken_at: float | None = None
    ) -> tuple[Readings | None, float | None]:
        """Remember ``readings``; return the previous readings and the seconds since."""
        now = self._clock() if taken_at is None else taken_at
        previous, elapsed = self._previous, None
        if previous is not None:
            elapsed = now - self._taken_at
        self._previous, self._taken_at = readings, now
        return previous, elapsed
