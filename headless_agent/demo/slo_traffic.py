"""Simulated ingress traffic for the demo fleet, so its SLO view has something to show.

Minutes of requests by status and latency buckets for two routes of the shop, as the SLO
engine records them from ingress-nginx: the last two days at once, then one minute at a
time. The cart has an error burst in the last hour (its budget burns) and gets slower at
the daily peak; the storefront stays within its objective.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import trio

from headless_agent.slo.objectives import Objective
from headless_agent.store import HistoryStore, SloWindow

MINUTE = 60.0
BACKFILL = 2 * 86400.0
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, math.inf)
ROUTES = ("shop.acme.example/", "shop.acme.example/cart")
#: the demo cluster whose ingress serves the shop
DEMO_SHOP = "prod-eu"

#: the objectives the demo comes with (a real cluster's are in the user's settings)
OBJECTIVES = (
    Objective("shop-storefront", "shop.acme.example", "/", availability=99.5, latency=0.5),
    Objective("shop-cart", "shop.acme.example", "/cart", availability=99.9, latency=0.25),
)


def _count(rng: random.Random, requests: int, share: float) -> int:
    """How many of ``requests`` fall in a ``share`` (a normal approximation: cheap)."""
    mean = requests * share
    return max(0, min(requests, round(rng.gauss(mean, math.sqrt(mean)))))


def _minute(route: str, start: float, rng: random.Random, burst_from: float) -> SloWindow:
    wave = math.sin(start / 86400 * 2 * math.pi)
    requests = max(10, int(600 + 400 * wave + rng.gauss(0, 40)))
    error_share = 0.0005
    slow = 0.08 + 0.05 * max(0.0, wave)
    if route.endswith("/cart"):
        requests //= 3
        if start >= burst_from:
            error_share = 0.03  # a bad deploy: 30 times the budget
        slow += 0.1
    errors = _count(rng, requests, error_share)
    rejected = _count(rng, requests, 0.002)
    ok = requests - errors - rejected
    statuses = (("200", float(ok)), ("429", float(rejected)), ("503", float(errors)))
    fast = 1.0 - slow
    shares = (0.4 * fast, 0.8 * fast, fast, fast + slow * 0.6, fast + slow * 0.9, 0.999, 1.0)
    latency = tuple(
        (bound, float(int(requests * share))) for bound, share in zip(BUCKETS, shares, strict=True)
    )
    return SloWindow(route, start, MINUTE, float(requests - errors), float(requests),
                     statuses, latency)  # fmt: skip


async def simulate(
    store: HistoryStore, cluster: str, *, speed: float = 1.0, clock: Callable[[], float] = time.time
) -> None:
    """Until cancelled: two days of minutes at once, then one minute per minute."""
    rng = random.Random(cluster + "-slo")
    now = clock()
    current = math.floor(now / MINUTE) * MINUTE
    burst_from = current - 40 * MINUTE

    def backfill() -> None:
        start = current - BACKFILL
        minutes = []
        while start < current:
            minutes += [_minute(route, start, rng, burst_from) for route in ROUTES]
            start += MINUTE
        store.record_slo_minutes(cluster, minutes)

    await trio.to_thread.run_sync(backfill)
    while True:
        await trio.sleep(MINUTE / speed)
        for route in ROUTES:
            store.record_slo_window(cluster, _minute(route, current, rng, burst_from))
        current += MINUTE
