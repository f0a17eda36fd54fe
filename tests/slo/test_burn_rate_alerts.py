"""Burn-rate alerts fire and resolve at the minutes the workbook's arithmetic predicts,
for a scripted traffic and a fake clock; the minimum-traffic guard and the no-data alert.

Every script serves 1000 requests a minute (99.9 % objective: 1 error a minute is 1×)
for long enough that every window is full, then errors at a known rate. With ``m``
complete minutes of 5 % errors (50 a minute, a 50× burn), a window of ``w`` minutes
holding them burns ``50 · m / w``× — the comments below do that sum for each tier.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from headless_agent.detect.anomaly import Transition
from headless_agent.slo.alerting import AVAILABILITY_BURN, LATENCY_BURN, NO_DATA, SloAlerts
from headless_agent.slo.increases import MinuteTraffic
from headless_agent.slo.objectives import Objective

BASE = 1_700_000_040.0  # on a minute
E = 5000  # the minute errors start: more than 4 days of clean traffic before
TARGET = "shop.example.com/checkout"


@dataclass
class Config:
    slos: tuple[Objective, ...]


@dataclass
class Dispatcher:
    config: Config
    heard: list[Transition] = field(default_factory=list)

    def on_transition(self, cluster: str, transition: Transition) -> None:
        self.heard.append(transition)


Script = Callable[[int], tuple[int, int] | None]  # minute → (good, bad), or None: no data


def _run(
    objective: Objective, script: Script, minutes: range, *, slow: Script | None = None
) -> list[tuple[int, str, str, str]]:
    """Evaluate at every minute of ``minutes``; (minute, reason, transition, severity)."""
    first = minutes.start - 6 * 1440
    traffic = []
    for minute in range(first, minutes.stop):
        counts = script(minute)
        if counts is not None:
            statuses = {"200": float(counts[0]), "503": float(counts[1])}
            total = float(sum(counts))
            # ``slow``: (fast, slow) requests, around a 300 ms bucket bound
            speeds = slow(minute) if slow is not None else None
            fast = float(speeds[0]) if speeds is not None else total
            buckets = {0.3: fast, math.inf: total}
            traffic.append(MinuteTraffic(TARGET, BASE + minute * 60, 60.0, statuses, buckets))
    starts = [m.start for m in traffic]

    def read(cluster: str, start: float, end: float) -> list[MinuteTraffic]:
        return traffic[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]

    dispatcher = Dispatcher(Config((objective,)))
    alerts = SloAlerts(dispatcher, None, read=read, clusters=lambda: ["prod"])
    heard = []
    for minute in minutes:
        for transition in alerts.evaluate_at(BASE + minute * 60):
            anomaly = transition.anomaly
            heard.append(
                (minute - E, anomaly.key.reason, transition.type.value, anomaly.severity.label)
            )
    return heard


def _errors(rate: int, minutes: int) -> Script:
    return lambda m: (1000 - rate, rate) if E <= m < E + minutes else (1000, 0)


CHECKOUT = Objective("checkout", "shop.example.com", "/checkout", availability=99.9)


def test_the_workbook_table_fires_and_resolves_when_its_arithmetic_says() -> None:
    # 5 % errors (a 50× burn) for 60 minutes, from minute E.
    # 14.4× over 1h and 5m: the 5m window is above from its 2nd minute (20×); the 1h window
    #   holds m error minutes: 50m/60 > 14.4 from m = 18. Fires at E+18, critical.
    # 6× over 6h and 30m: 50m/360 > 6 from m = 44 (already critical: nothing new).
    # 1× over 3d and 6h: 50·60/4320 = 0.69 at most: never.
    # After the errors stop (E+60+k): the 5m window holds 5-k error minutes, 10(5-k)× < 14.4
    #   from k = 4; the 30m window 50(30-k)/30 < 6 from k = 27, the 6h window still 8.3×:
    #   the alert resolves at E+87.
    heard = _run(CHECKOUT, _errors(50, 60), range(E - 5, E + 100))
    assert heard == [
        (18, AVAILABILITY_BURN, "opened", "critical"),
        (87, AVAILABILITY_BURN, "resolved", "critical"),
    ]


def test_a_slow_burn_is_a_ticket_after_three_days() -> None:
    # 0.2 % errors (2×) for good: only 1× over 3d and 6h can fire. The 6h window is above
    # once 2m/360 > 1 (m = 181); the 3d window once 2m/4320 > 1: at E+2161, a warning.
    heard = _run(CHECKOUT, _errors(2, 10_000), range(E + 2158, E + 2163))
    assert heard == [(2161, AVAILABILITY_BURN, "opened", "warning")]


def test_pyrra_table_holds_each_tier_for_its_for_duration() -> None:
    # The same 60 minutes of 50× on a 28-day objective (Pyrra's table, 99.9 %):
    # 14× over 1h/5m for 2m: the 1h window is above from m = 17 (50·17/60 = 14.2), held
    #   at E+17, E+18, E+19: fires at E+19; the 5m window falls under 14× at E+64.
    # 7× over 6h/30m for 15m: above from m = 51 (50·51/360 = 7.08), held 15 minutes: E+66,
    #   so E+64 and E+65 have no tier firing; it resolves when the 30m window holds 4
    #   error minutes (6.7×) at E+86.
    # 2× over 1d/2h for 1h: above from m = 58 (50·58/1440 = 2.01), held an hour: E+118, a
    #   warning; the 2h window holds 4 error minutes (1.7×) at E+176.
    # 1× over 4d/6h: 50·60/5760 = 0.52: never.
    pyrra = Objective("checkout", "shop.example.com", "/checkout", availability=99.9, period="28d")
    heard = _run(pyrra, _errors(50, 60), range(E - 5, E + 190))
    assert heard == [
        (19, AVAILABILITY_BURN, "opened", "critical"),
        (64, AVAILABILITY_BURN, "resolved", "critical"),
        (66, AVAILABILITY_BURN, "opened", "critical"),
        (86, AVAILABILITY_BURN, "resolved", "critical"),
        (118, AVAILABILITY_BURN, "opened", "warning"),
        (176, AVAILABILITY_BURN, "resolved", "warning"),
    ]


def test_one_failed_request_of_a_quiet_service_does_not_page() -> None:
    # One request every ten minutes; the one at minute E fails: its 5m window burns
    # 1000×, its hour 167×, its 30m window 333× — a page, without the guard. With the
    # default guard (10 requests), the 5m (1 request), 1h (6) and 30m (3) windows do not
    # count: no page. What remains is true: over 3 days (432 requests) one failure is
    # 2.3× the 0.1 % allowed, and over 6h (36 requests) 28×: a ticket.
    def quiet(minute: int) -> tuple[int, int]:
        if minute % 10:
            return (0, 0)
        return (0, 1) if minute == E else (1, 0)

    minutes = range(E - 2, E + 30)
    assert _run(CHECKOUT, quiet, minutes) == [(1, AVAILABILITY_BURN, "opened", "warning")]
    stricter = Objective("checkout", "shop.example.com", "/checkout", min_requests=50)
    assert _run(stricter, quiet, minutes) == []
    unguarded = Objective("checkout", "shop.example.com", "/checkout", min_requests=0)
    assert _run(unguarded, quiet, minutes) == [(1, AVAILABILITY_BURN, "opened", "critical")]


def test_metrics_that_stop_raise_a_no_data_alert_until_they_come_back() -> None:
    # Nothing is stored for minutes E … E+29. The newest minute ends at E; 10 minutes on
    # (the default no_data_after) it is an alert; the first minute back (E+30) ends it.
    def gap(minute: int) -> tuple[int, int] | None:
        return None if E <= minute < E + 30 else (1000, 0)

    heard = _run(CHECKOUT, gap, range(E - 2, E + 40))
    assert heard == [
        (10, NO_DATA, "opened", "warning"),
        (31, NO_DATA, "resolved", "warning"),
    ]


def test_slow_requests_burn_the_latency_budget_by_the_same_arithmetic() -> None:
    # 99 % of requests within 300 ms allows 10 slow ones a minute; 500 slow (a 50× burn)
    # for 60 minutes: the 1h window is above 14.4× from m = 18 (50·18/60 = 15), the 30m
    # window falls under 6× 27 minutes after (50·3/30 = 5): E+18 to E+87, as availability.
    fast_only = Objective("checkout", "shop.example.com", "/checkout", latency=0.3)
    assert fast_only.latency_target == 99.0
    slow = _errors(500, 60)  # (fast, slow) requests per minute
    heard = _run(fast_only, lambda m: (1000, 0), range(E - 5, E + 100), slow=slow)
    assert heard == [
        (18, LATENCY_BURN, "opened", "critical"),
        (87, LATENCY_BURN, "resolved", "critical"),
    ]
