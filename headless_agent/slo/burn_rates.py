"""Error budgets and multi-window, multi-burn-rate alerting (Google SRE workbook, ch. 5).

A burn rate is how fast errors spend the budget: the error ratio over a window divided
by the ratio the objective allows (``1 - objective``); 1× spends exactly the budget over
the SLO period. A tier fires when *both* its long and its short window burn faster than
its factor (the long window proves it matters, the short one that it is still going on,
so the alert resolves soon after the errors stop), and — Pyrra's ``for`` — has done so at
every minute for ``hold``.

Two tables:

- ``WORKBOOK_30D`` (the SRE workbook, 30-day period): 14.4× over 1 h and 5 min (2 % of
  the budget in an hour: page), 6× over 6 h and 30 min (5 % in 6 h: page), 1× over 3 d and
  6 h (10 % in 3 days: ticket);
- ``PYRRA_28D`` (Pyrra's, 28-day period): 14× over 1 h / 5 min for 2 min, 7× over 6 h /
  30 min for 15 min (critical), 2× over 1 d / 2 h for 1 h, 1× over 4 d / 6 h for 3 h
  (warning).

The minimum-traffic guard: a window with fewer than ``min_requests`` requests never
fires (one failed request of a quiet service is not an incident).

Everything works on a ``MinuteSeries``: bad and total requests per minute; a window
ending at ``now`` holds the complete minutes that started in ``[now - window, now)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from headless_agent.detect.anomaly import Severity
from headless_agent.slo.increases import MINUTE

HOUR = 3600.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class BurnTier:
    factor: float
    long: float
    short: float
    severity: Severity
    hold: float = 0.0

    def describe(self) -> str:
        long, short = duration_text(self.long), duration_text(self.short)
        return f"{_number(self.factor)}× over {long} and {short}"


WORKBOOK_30D = (
    BurnTier(14.4, HOUR, 5 * MINUTE, Severity.CRITICAL),
    BurnTier(6.0, 6 * HOUR, 30 * MINUTE, Severity.CRITICAL),
    BurnTier(1.0, 3 * DAY, 6 * HOUR, Severity.WARNING),
)
PYRRA_28D = (
    BurnTier(14.0, HOUR, 5 * MINUTE, Severity.CRITICAL, hold=2 * MINUTE),
    BurnTier(7.0, 6 * HOUR, 30 * MINUTE, Severity.CRITICAL, hold=15 * MINUTE),
    BurnTier(2.0, DAY, 2 * HOUR, Severity.WARNING, hold=HOUR),
    BurnTier(1.0, 4 * DAY, 6 * HOUR, Severity.WARNING, hold=3 * HOUR),
)
TABLES = {"30d": WORKBOOK_30D, "28d": PYRRA_28D}


def duration_text(seconds: float) -> str:
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{_number(seconds)}s"


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class MinuteSeries:
    """Bad and total requests per minute from ``start`` on (a minute without data counts
    as no requests), with prefix sums for any window."""

    def __init__(
        self, start: float, bad: npt.ArrayLike, total: npt.ArrayLike, step: float = MINUTE
    ) -> None:
        self.start = start
        self.step = step
        self.bad = np.asarray(bad, dtype=float)
        self.total = np.asarray(total, dtype=float)
        self._bad_sums = np.concatenate(([0.0], np.cumsum(self.bad)))
        self._total_sums = np.concatenate(([0.0], np.cumsum(self.total)))

    @classmethod
    def from_minutes(
        cls,
        minutes: dict[float, tuple[float, float]],
        start: float,
        end: float,
        step: float = MINUTE,
    ) -> MinuteSeries:
        """From ``{minute start: (bad, total)}``, covering the minutes in [start, end)."""
        count = max(0, round((end - start) / step))
        bad, total = np.zeros(count), np.zeros(count)
        for at, (b, t) in minutes.items():
            index = round((at - start) / step)
            if 0 <= index < count:
                bad[index] += b
                total[index] += t
        return cls(start, bad, total, step)

    def _index(self, at: float) -> int:
        return min(max(0, math.floor((at - self.start) / self.step + 1e-9)), len(self.bad))

    def window(self, now: float, seconds: float) -> tuple[float, float]:
        """(bad, total) of the complete minutes that started in [now - seconds, now)."""
        first, last = self._index(now - seconds), self._index(now)
        return (
            float(self._bad_sums[last] - self._bad_sums[first]),
            float(self._total_sums[last] - self._total_sums[first]),
        )


def burn_rate(bad: float, total: float, objective_percent: float) -> float:
    """How many times faster than allowed the budget burns (0 without requests)."""
    if total <= 0:
        return 0.0
    return (bad / total) / allowed_error_ratio(objective_percent)


def allowed_error_ratio(objective_percent: float) -> float:
    """1 - objective, rounded so that 99.9 % allows exactly 0.001 (not 0.000999…9, which
    would make a burn of exactly 1× look like more)."""
    return round(1.0 - objective_percent / 100.0, 12)


def budget_remaining(bad: float, total: float, objective_percent: float) -> float:
    """The share of the period's error budget left (1: untouched; below 0: overspent)."""
    return 1.0 - burn_rate(bad, total, objective_percent)


@dataclass(frozen=True, slots=True)
class TierState:
    tier: BurnTier
    long_burn: float
    short_burn: float
    long_requests: float
    short_requests: float
    firing: bool


def _burning(
    series: MinuteSeries, tier: BurnTier, objective: float, min_requests: float, now: float
) -> TierState:
    long_bad, long_total = series.window(now, tier.long)
    short_bad, short_total = series.window(now, tier.short)
    long_burn = burn_rate(long_bad, long_total, objective)
    short_burn = burn_rate(short_bad, short_total, objective)
    firing = (
        long_burn > tier.factor
        and short_burn > tier.factor
        and long_total >= min_requests
        and short_total >= min_requests
    )
    return TierState(tier, long_burn, short_burn, long_total, short_total, firing)


def evaluate_tiers(
    series: MinuteSeries,
    tiers: Sequence[BurnTier],
    objective: float,
    min_requests: float,
    now: float,
) -> list[TierState]:
    """Every tier at ``now``: firing if it burns now and did at each minute of its hold."""
    states = []
    for tier in tiers:
        state = _burning(series, tier, objective, min_requests, now)
        if state.firing and tier.hold:
            steps = round(tier.hold / series.step)
            held = all(
                _burning(series, tier, objective, min_requests, now - i * series.step).firing
                for i in range(1, steps + 1)
            )
            if not held:
                state = TierState(
                    tier,
                    state.long_burn,
                    state.short_burn,
                    state.long_requests,
                    state.short_requests,
                    False,
                )
        states.append(state)
    return states
