"""What a view shows: per host/path status over the rolling windows, and burn-rate series,
read from the history store (blocking: call from a worker thread).

A window of ``W`` seconds ending at ``now`` holds the complete minutes that started in
``[now - W, now)``. Long windows read the hourly rollups for the whole hours inside them
and the minutes only at their edges, so 30 days cost about 720 rows per target, not 43 200.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from headless_agent.slo.burn_rates import (
    TABLES,
    MinuteSeries,
    budget_remaining,
    burn_rate,
)
from headless_agent.slo.increases import MINUTE, MinuteTraffic, total_traffic
from headless_agent.slo.objectives import Objective
from headless_agent.slo.quantile import PERCENTILES, fraction_at_most, histogram_quantile
from headless_agent.store import HistoryStore, SloWindow

HOUR = 3600.0
WINDOWS = (("1h", HOUR), ("1d", 24 * HOUR), ("7d", 7 * 24 * HOUR), ("30d", 30 * 24 * HOUR))


def traffic_of(window: SloWindow) -> MinuteTraffic:
    return MinuteTraffic(
        window.slo,
        window.window_start,
        window.window_seconds,
        dict(window.statuses),
        dict(window.latency),
    )


def stored_traffic(
    store: HistoryStore, cluster: str, start: float, end: float
) -> list[MinuteTraffic]:
    """Every target's traffic in [start, end): hourly rollups inside, minutes at the edges."""
    first_hour = math.ceil(start / HOUR) * HOUR
    last_hour = math.floor(end / HOUR) * HOUR
    if first_hour >= last_hour:
        rows = store.slo_traffic(cluster, start, end, seconds=MINUTE)
    else:
        rows = (
            store.slo_traffic(cluster, start, first_hour, seconds=MINUTE)
            + store.slo_traffic(cluster, first_hour, last_hour, seconds=HOUR)
            + store.slo_traffic(cluster, last_hour, end, seconds=MINUTE)
        )
    return [traffic_of(row) for row in rows]


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """One target (or objective) over one window. Ratios are NaN without requests."""

    window: str
    seconds: float
    requests: float
    request_rate: float  # requests per second
    errors: float
    availability: float  # good / total
    #: requests no slower than the objective's latency threshold / total (NaN if none)
    latency_good: float
    percentiles: tuple[tuple[float, float], ...]  # (0.5, seconds), (0.9, ...), ...
    burn_rate: float  # availability's, against the objective (99.9 % without one)
    budget_remaining: float  # share of this window's availability budget left


def summarize(
    traffic: Iterable[MinuteTraffic],
    window: str,
    seconds: float,
    objective: Objective | None = None,
) -> WindowStatus:
    """The status of a set of minutes (of one target, or of every target of an objective)."""
    total = total_traffic(traffic, objective.name if objective else "", 0.0, seconds)
    requests = total.requests
    if objective is not None:
        errors, _ = objective.availability_counts(total)
    else:
        errors = sum(c for s, c in total.statuses.items() if s[:1] == "5")
    availability = (requests - errors) / requests if requests else math.nan
    latency_good = math.nan
    if objective is not None and objective.latency is not None:
        latency_good = fraction_at_most(objective.latency, total.buckets)
    percentiles = tuple((q, histogram_quantile(q, total.buckets)) for q in PERCENTILES)
    target = objective.availability if objective else 99.9
    return WindowStatus(
        window,
        seconds,
        requests,
        requests / seconds,
        errors,
        availability,
        latency_good,
        percentiles,
        burn_rate(errors, requests, target),
        budget_remaining(errors, requests, target) if requests else 1.0,
    )


@dataclass(frozen=True, slots=True)
class ObjectiveStatus:
    objective: Objective
    cluster: str
    targets: tuple[str, ...]
    windows: tuple[WindowStatus, ...]
    #: the share of the SLO period's error budget left (availability; latency if set)
    budget_remaining: float
    latency_budget_remaining: float


def objective_status(
    store: HistoryStore, cluster: str, objective: Objective, now: float
) -> ObjectiveStatus:
    """The objective over 1 h, 1 d, 7 d and 30 d, and its period's budget."""
    longest = max(objective.period_seconds, WINDOWS[-1][1])
    traffic = [
        t for t in stored_traffic(store, cluster, now - longest, now) if objective.covers(t.target)
    ]
    windows = tuple(
        summarize([t for t in traffic if t.start >= now - seconds], name, seconds, objective)
        for name, seconds in WINDOWS
    )
    in_period = [t for t in traffic if t.start >= now - objective.period_seconds]
    period = total_traffic(
        in_period, objective.name, now - objective.period_seconds, objective.period_seconds
    )
    bad, total = objective.availability_counts(period)
    slow, timed = objective.latency_counts(period)
    return ObjectiveStatus(
        objective,
        cluster,
        tuple(sorted({t.target for t in traffic})),
        windows,
        budget_remaining(bad, total, objective.availability) if total else 1.0,
        budget_remaining(slow, timed, objective.latency_target) if timed else 1.0,
    )


def target_status(
    store: HistoryStore, cluster: str, now: float
) -> dict[str, tuple[WindowStatus, ...]]:
    """Every host/path seen in the last 30 days, over each window (5xx are errors)."""
    traffic = stored_traffic(store, cluster, now - WINDOWS[-1][1], now)
    by_target: dict[str, list[MinuteTraffic]] = {}
    for minute in traffic:
        by_target.setdefault(minute.target, []).append(minute)
    return {
        target: tuple(
            summarize([m for m in minutes if m.start >= now - seconds], name, seconds)
            for name, seconds in WINDOWS
        )
        for target, minutes in sorted(by_target.items())
    }


def objective_series(
    traffic: Iterable[MinuteTraffic],
    objective: Objective,
    start: float,
    end: float,
    *,
    latency: bool = False,
) -> MinuteSeries:
    """(bad, total) per minute of an objective's targets, for burn rates."""
    minutes: dict[float, tuple[float, float]] = {}
    for minute in traffic:
        if not objective.covers(minute.target) or minute.seconds != MINUTE:
            continue
        counts = (
            objective.latency_counts(minute) if latency else objective.availability_counts(minute)
        )
        bad, total = minutes.get(minute.start, (0.0, 0.0))
        minutes[minute.start] = (bad + counts[0], total + counts[1])
    return MinuteSeries.from_minutes(minutes, start, end)


@dataclass(frozen=True, slots=True)
class BurnRateSeries:
    """Burn rates of one objective over a window length, one point per ``step``."""

    window: float
    times: np.ndarray
    burn_rates: np.ndarray


def burn_rate_series(
    store: HistoryStore,
    cluster: str,
    objective: Objective,
    start: float,
    end: float,
    *,
    windows: Sequence[float] | None = None,
    step: float = 5 * MINUTE,
    latency: bool = False,
) -> list[BurnRateSeries]:
    """Burn-rate charts: for each window length (the objective's table's windows unless
    given), the burn rate at every ``step`` from ``start`` to ``end``."""
    lengths = sorted(
        set(windows or [w for t in TABLES[objective.period] for w in (t.long, t.short)])
    )
    first = start - max(lengths)
    rows = store.slo_traffic(cluster, first, end, seconds=MINUTE)
    series = objective_series((traffic_of(r) for r in rows), objective, first, end, latency=latency)
    target = objective.latency_target if latency else objective.availability
    times = np.arange(start, end + step / 2, step)
    charts = []
    for length in lengths:
        values = [burn_rate(*series.window(float(t), length), target) for t in times]
        charts.append(BurnRateSeries(length, times, np.asarray(values)))
    return charts
