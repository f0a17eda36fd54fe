"""Service-level objectives per host and path, and the ``[[slos]]`` tables that set them.

::

    [[slos]]
    name = "shop-checkout"     # required, unique: the alert's name
    host = "shop.example.com"  # required ("" for an Ingress rule without a host)
    path = "/checkout"         # optional: without it, every path of the host together
    clusters = []              # optional: where it applies (empty: every cluster)
    availability = 99.9        # percent of requests that are not errors (default 99.9)
    bad_statuses = ["5xx"]     # what counts as an error: "5xx", "429", "4xx" or a code
    latency = "300ms"          # optional: a request slower than this is bad for the
    latency_target = 99        # ... latency objective (percent no slower; default 99)
    period = "30d"             # "30d": the SRE workbook's burn-rate table; "28d": Pyrra's
    min_requests = 10          # a window with fewer requests never pages (quiet services)
    no_data_after = "10m"      # no metrics this long: an SLONoData alert

``parse_objective`` checks one table and reports each mistake through ``problem`` (the
alerting file's reporter, which adds the line), as ``alerts.config`` does for rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from headless_agent.slo.increases import MinuteTraffic
from headless_agent.slo.quantile import fraction_at_most

PERIODS = {"30d": 30 * 86_400.0, "28d": 28 * 86_400.0}
OBJECTIVE_KEYS = (
    "name",
    "host",
    "path",
    "clusters",
    "availability",
    "bad_statuses",
    "latency",
    "latency_target",
    "period",
    "min_requests",
    "no_data_after",
)


@dataclass(frozen=True, slots=True)
class Objective:
    name: str
    host: str
    path: str | None = None
    clusters: frozenset[str] = frozenset()
    availability: float = 99.9  # percent
    bad_statuses: tuple[str, ...] = ("5xx",)
    latency: float | None = None  # seconds
    latency_target: float = 99.0  # percent
    period: str = "30d"
    min_requests: float = 10.0
    no_data_after: float = 600.0

    @property
    def period_seconds(self) -> float:
        return PERIODS[self.period]

    def covers(self, target: str) -> bool:
        """Whether a target ("host/path") is part of this objective."""
        host, _, path = target.partition("/")
        if host != self.host:
            return False
        return self.path is None or "/" + path == self.path

    def applies_to(self, cluster: str) -> bool:
        return not self.clusters or cluster in self.clusters

    def is_bad(self, status: str) -> bool:
        for pattern in self.bad_statuses:
            if pattern.endswith("xx") and status[:1] == pattern[0]:
                return True
            if status == pattern:
                return True
        return False

    def availability_counts(self, traffic: MinuteTraffic) -> tuple[float, float]:
        """(bad, total) requests for the availability objective."""
        bad = sum(c for status, c in traffic.statuses.items() if self.is_bad(status))
        return bad, traffic.requests

    def latency_counts(self, traffic: MinuteTraffic) -> tuple[float, float]:
        """(bad, total) requests for the latency objective: slower than the threshold."""
        if self.latency is None or not traffic.buckets:
            return 0.0, 0.0
        total = max(traffic.buckets.values())
        fast = fraction_at_most(self.latency, traffic.buckets)
        if math.isnan(fast):
            return 0.0, 0.0
        return total * (1.0 - fast), total


def target_name(host: str, path: str) -> str:
    """How a host and path are named in the store: ``host/path`` (``/path`` without host)."""
    return f"{host}{path if path.startswith('/') else '/' + path}"


Problem = Callable[[str, int | None, str | None, str], None]


def _percent(
    raw: Mapping[str, Any], key: str, default: float, index: int, problem: Problem
) -> float | None:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
        problem("slos", index, key, "a percentage between 0 and 100, e.g. 99.9")
        return None
    return float(value)


def parse_objective(
    raw: Any, index: int, problem: Problem, parse_duration: Callable[[Any], float]
) -> Objective | None:
    """One ``[[slos]]`` table, or None after reporting what is wrong with it."""
    if not isinstance(raw, dict):
        problem("slos", index, None, "expected a table")
        return None
    ok = True
    for key in raw:
        if key not in OBJECTIVE_KEYS:
            problem("slos", index, key, f"unknown key (known: {', '.join(OBJECTIVE_KEYS)})")
            ok = False
    name, host, path = raw.get("name"), raw.get("host"), raw.get("path")
    if not isinstance(name, str) or not name:
        problem("slos", index, "name", "required")
        ok = False
    if not isinstance(host, str):
        problem("slos", index, "host", 'required: the Ingress host ("" for none)')
        ok = False
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        problem("slos", index, "path", 'a path that starts with "/"')
        ok = False
    clusters = raw.get("clusters", [])
    if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
        problem("slos", index, "clusters", "a list of names")
        ok = False
        clusters = []
    availability = _percent(raw, "availability", 99.9, index, problem)
    latency_target = _percent(raw, "latency_target", 99.0, index, problem)
    ok = ok and availability is not None and latency_target is not None
    bad = raw.get("bad_statuses", ["5xx"])
    if (
        not isinstance(bad, list)
        or not bad
        or not all(isinstance(b, str) and (b in ("4xx", "5xx") or b.isdigit()) for b in bad)
    ):
        problem("slos", index, "bad_statuses", 'a list such as ["5xx"] or ["5xx", "429"]')
        ok = False
    period = raw.get("period", "30d")
    if period not in PERIODS:
        problem("slos", index, "period", '"30d" (SRE workbook) or "28d" (Pyrra)')
        ok = False
    min_requests = raw.get("min_requests", 10)
    if (
        isinstance(min_requests, bool)
        or not isinstance(min_requests, int | float)
        or min_requests < 0
    ):
        problem("slos", index, "min_requests", "a number of requests, 0 or more")
        ok = False
    durations: dict[str, float] = {}
    for key, shortest in (("latency", 0.0), ("no_data_after", 60.0)):
        if key not in raw:
            continue
        try:
            seconds = parse_duration(raw[key])
        except ValueError as error:
            problem("slos", index, key, str(error))
            ok = False
            continue
        if (seconds <= shortest and key == "latency") or seconds < shortest:
            problem("slos", index, key, "at least 1m" if shortest else "above 0")
            ok = False
            continue
        durations[key] = seconds
    if not ok:
        return None
    assert availability is not None and latency_target is not None
    return Objective(
        name=str(name),
        host=str(host),
        path=path,
        clusters=frozenset(clusters),
        availability=availability,
        bad_statuses=tuple(bad),
        latency=durations.get("latency"),
        latency_target=latency_target,
        period=str(period),
        min_requests=float(min_requests),
        no_data_after=durations.get("no_data_after", 600.0),
    )
