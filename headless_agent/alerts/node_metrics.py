"""Alerts from node metrics: rules with a ``metric`` condition, over the stored samples.

Every ``interval`` (15 s) the rules that carry a ``NodeCondition`` are evaluated against
the node samples in the history store (those nodeprobe pushes through an agent, or the
demo's), and what they find becomes anomalies of kind ``Node`` fed to the dispatcher like
any other, so grouping, pacing, silences and the outbox apply unchanged:

- ``NodeCPUHigh``, ``NodeMemoryHigh``, ``NodeDiskHigh``: the percent used (CPU: 100 minus
  idle; disk: per filesystem) is above the threshold in every sample for ``for``, read
  from the samples themselves: the hold survives a restart, and a blip shorter than
  ``for`` never counts. A gap of more than ``STALE_AFTER`` between samples breaks it.
- ``NodeDiskFillingUp``: a least-squares line over the last ``trend`` of a filesystem's
  use (as PromQL's ``predict_linear``) reaches 100 % within ``full_within``; it needs a
  trend at least a quarter of ``trend`` long, and the forecast has to say so at every
  evaluation for ``for`` (kept in memory: a restart starts that hold again).

An alert's severity is its rule's (``warning`` unless said; ``critical`` by default for
``full_within``). Rules on the same metric share one alert per node and reason: it is
as severe as the most severe that holds (e.g. a warning rule at 80 % and a critical one at
95 %); a change of severity resolves the old one and opens the new, so every rule's group
stays true. The alert keeps the figures of its opening; a disk alert names the
filesystems in ``members`` and the fullest in its message.

A node without a sample in the last ``STALE_AFTER`` (5 min, Prometheus' look-back) does
not fire, and an alert open on it is resolved, as Prometheus does with a stale series: a
node that stops reporting is a problem of its own (``NodeUnknown``, ``ClusterUnreachable``);
the alert would open again with its samples.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import partial

import numpy as np
import trio

from headless_agent.alerts.config import NodeCondition, Rule
from headless_agent.alerts.dispatcher import Dispatcher
from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition, TransitionType
from headless_agent.store import HistoryStore, SeriesPoints, SeriesSelector

log = logging.getLogger(__name__)

INTERVAL = 15.0
#: a node whose newest sample is older than this is not judged (and its alerts end)
STALE_AFTER = 300.0
#: points of the trend a forecast fits (the store picks the resolution)
FORECAST_POINTS = 400
MIN_TREND_POINTS = 5

_SERIES = {
    "cpu": 'cpu_usage_percent{mode="idle"}',  # busy = 100 - idle
    "memory": "memory_used_percent",
    "disk": "filesystem_used_percent{*",
}
_MOUNTPOINT = re.compile(r'mountpoint="([^"]*)"')


@dataclass(frozen=True, slots=True)
class _Finding:
    """What one rule sees on one node now."""

    rule: Rule
    condition: NodeCondition
    cluster: str
    node: str
    #: since when the condition holds (from the samples); None for a forecast (counted here)
    since: float | None
    message_id: str
    params: tuple[tuple[str, str], ...]
    members: tuple[str, ...]


class NodeMetricRules:
    """Evaluates the node-metric rules of the dispatcher's (current) settings and feeds
    their alerts to it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        store: HistoryStore,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = INTERVAL,
    ) -> None:
        self.dispatcher = dispatcher
        self.store = store
        self.clock = clock
        self.interval = interval
        self._open: dict[AnomalyKey, Anomaly] = {}
        #: forecasts saying "full" at every evaluation since then, per rule and node
        self._forecasting: dict[tuple[str, NodeCondition, str, str], float] = {}

    @property
    def open_anomalies(self) -> list[Anomaly]:
        return sorted(self._open.values(), key=lambda a: a.key)

    async def run(self) -> None:
        while True:
            await self.evaluate()
            await trio.sleep(self.interval)

    async def evaluate(self) -> list[Transition]:
        """One round: read the samples (in a worker thread), open and resolve alerts, and
        return the transitions given to the dispatcher."""
        now = self.clock()  # on the trio thread: the clock may be trio's
        rules = [r for r in self.dispatcher.config.rules if r.condition is not None]
        if not rules and not self._open:
            return []
        try:
            findings, judged = await trio.to_thread.run_sync(
                partial(_observe, self.store, rules, now)
            )
        except Exception:  # the history is unreadable now: keep what is open, try again
            log.exception("node-metric rules: cannot read the samples")
            return []
        return self._apply(findings, judged, now)

    def _apply(self, findings: list[_Finding], judged: set[str], now: float) -> list[Transition]:
        chosen: dict[AnomalyKey, Anomaly] = {}
        forecasting: dict[tuple[str, NodeCondition, str, str], float] = {
            k: v for k, v in self._forecasting.items() if k[2] not in judged
        }
        for finding in findings:
            since = finding.since
            if since is None:
                held = (finding.rule.name, finding.condition, finding.cluster, finding.node)
                since = forecasting[held] = self._forecasting.get(held, now)
                if now - since < finding.condition.hold:
                    continue
            key = AnomalyKey(finding.cluster, "Node", "", finding.node, finding.condition.reason)
            anomaly = Anomaly(
                key=key,
                severity=finding.rule.severity,
                message_id=finding.message_id,
                params=finding.params,
                first_seen=since,
                last_seen=now,
                count=1,
                members=finding.members,
            )
            if key not in chosen or anomaly.severity > chosen[key].severity:
                chosen[key] = anomaly
        self._forecasting = forecasting

        transitions: list[Transition] = []
        for key, opened in list(self._open.items()):
            if key in chosen or (key.cluster not in judged and self._has_rule(key)):
                continue
            del self._open[key]
            ended = replace(opened, last_seen=now, resolved_at=now)
            transitions.append(Transition(TransitionType.RESOLVED, ended))
        for key, anomaly in chosen.items():
            before = self._open.get(key)
            if before is None:
                transitions.append(Transition(TransitionType.OPENED, anomaly))
            elif before.severity != anomaly.severity:
                ended = replace(before, last_seen=now, resolved_at=now)
                transitions.append(Transition(TransitionType.RESOLVED, ended))
                transitions.append(Transition(TransitionType.OPENED, anomaly))
            elif before.members != anomaly.members:
                anomaly = replace(anomaly, first_seen=before.first_seen)
                transitions.append(Transition(TransitionType.UPDATED, anomaly))
            else:
                continue  # the same alert: it keeps the figures of its opening
            self._open[key] = anomaly
        for transition in transitions:
            self.dispatcher.on_transition(transition.anomaly.key.cluster, transition)
        return transitions

    def _has_rule(self, key: AnomalyKey) -> bool:
        return any(
            r.condition is not None and r.condition.reason == key.reason
            for r in self.dispatcher.config.rules
        )


# --- reading and judging (in a worker thread) ------------------------------------------------


def _observe(
    store: HistoryStore, rules: Sequence[Rule], now: float
) -> tuple[list[_Finding], set[str]]:
    """Every rule's findings on every cluster in the history, and the clusters judged (a
    cluster whose samples could not be read keeps its alerts as they are)."""
    store.flush()  # samples just recorded count already
    findings: list[_Finding] = []
    judged: set[str] = set()
    for info in store.clusters():
        cluster = info.display_name
        try:
            for rule in rules:
                if not rule.clusters or cluster in rule.clusters:
                    findings.extend(_judge(store, cluster, rule, now))
        except Exception:
            log.exception("node-metric rules: cannot read the samples of %s", cluster)
            findings = [f for f in findings if f.cluster != cluster]
            continue
        judged.add(cluster)
    return findings, judged


def _judge(store: HistoryStore, cluster: str, rule: Rule, now: float) -> list[_Finding]:
    condition = rule.condition
    assert condition is not None
    selector = SeriesSelector(cluster, None, (_SERIES[condition.metric],))
    if condition.full_within is not None:
        tiers = store.layout.rollups
        tier = tiers[0].name if tiers and tiers[0].step * 20 <= condition.trend else None
        points = store.query_series(
            selector, now - condition.trend, now, max_points=FORECAST_POINTS, resolution=tier
        )
    else:
        start = now - condition.hold - STALE_AFTER
        # Every raw sample: the budget of points is never what merges them.
        budget = int((now - start) / store.layout.raw.step) + 10
        points = store.query_series(selector, start, now, max_points=budget, resolution="raw")
    by_node: dict[str, list[tuple[float, str, float | None, str, str]]] = {}
    for series in points:
        mountpoint = _mountpoint(series.series.name)
        if condition.mountpoints and not any(
            fnmatchcase(mountpoint, p) for p in condition.mountpoints
        ):
            continue
        seen: tuple[float, float | None, str, str] | None
        if condition.full_within is not None:
            seen = _forecast(series, condition, now)
        else:
            seen = _threshold(series, condition, now)
        if seen is not None:
            rank, since, value, figure = seen
            by_node.setdefault(series.series.node, []).append(
                (rank, mountpoint, since, value, figure)
            )
    findings = []
    for node, seen_on in sorted(by_node.items()):
        worst = max(seen_on, key=lambda s: s[0])
        _, mountpoint, since, value, figure = worst
        params = _params(condition, node, mountpoint, value, figure)
        members = tuple(sorted(s[1] for s in seen_on)) if condition.metric == "disk" else (node,)
        message_id = _message_id(condition)
        findings.append(
            _Finding(rule, condition, cluster, node, since, message_id, params, members)
        )
    return findings


def _message_id(condition: NodeCondition) -> str:
    if condition.full_within is not None:
        return "anomaly.node_disk_filling_up"
    return {
        "cpu": "anomaly.node_cpu_high",
        "memory": "anomaly.node_memory_high",
        "disk": "anomaly.node_disk_high",
    }[condition.metric]


def _params(
    condition: NodeCondition, node: str, mountpoint: str, value: str, figure: str
) -> tuple[tuple[str, str], ...]:
    """The message's values: ``figure`` is the minutes held, or the hours until full."""
    params = [("node", node)]
    if condition.metric == "disk":
        params.append(("mountpoint", mountpoint))
    params.append(("value", value))
    if condition.full_within is not None:
        params += [("hours", figure), ("trend_hours", _number(condition.trend / 3600))]
    else:
        params += [("threshold", _number(condition.above or 0.0)), ("minutes", figure)]
    return tuple(params)


def _threshold(
    series: SeriesPoints, condition: NodeCondition, now: float
) -> tuple[float, float, str, str] | None:
    """(rank, since when, percent used and minutes held as text) if the newest sample
    is fresh and the values have been above the threshold without a break for ``for``."""
    times, values = series.times, series.last
    if condition.metric == "cpu":
        values = 100.0 - values
    if not len(times) or times[-1] < now - STALE_AFTER:
        return None
    above = condition.above if condition.above is not None else math.inf
    if not values[-1] > above:
        return None
    unbroken = (values[:-1] > above) & (np.diff(times) <= STALE_AFTER)
    breaks = np.flatnonzero(~unbroken)
    since = float(times[breaks[-1] + 1] if len(breaks) else times[0])
    held = float(times[-1]) - since
    if held < condition.hold:
        return None
    return float(values[-1]), since, _number(float(values[-1])), _number(held / 60)


def _forecast(
    series: SeriesPoints, condition: NodeCondition, now: float
) -> tuple[float, None, str, str] | None:
    """(rank, None, percent used and hours until full as text) if a line through the
    trend reaches 100 % within ``full_within`` (with ``above``: and it is that full)."""
    assert condition.full_within is not None
    middle = series.step / 2 if series.step else 0.0
    present = np.isfinite(series.average)
    times, values = series.times[present] + middle, series.average[present]
    if (
        len(times) < MIN_TREND_POINTS
        or times[-1] - times[0] < condition.trend / 4
        or series.times[present][-1] < now - STALE_AFTER - (series.step or 0.0)
    ):
        return None
    current = float(series.last[present][-1])
    if condition.above is not None and not current > condition.above:
        return None
    slope, at_now = np.polyfit(times - now, values, 1)
    if slope <= 0:
        return None
    until_full = max(0.0, (100.0 - float(at_now)) / float(slope))
    if until_full > condition.full_within:
        return None
    return -until_full, None, _number(current), _number(until_full / 3600)


def _mountpoint(name: str) -> str:
    match = _MOUNTPOINT.search(name)
    return match.group(1) if match else ""


def _number(value: float) -> str:
    """One decimal at most: 93.4, 5, 0.5."""
    return f"{value:.1f}".removesuffix(".0")
