"""Burn-rate and no-data alerts of the objectives, as anomalies for the alert dispatcher.

Every ``interval`` (a minute) each objective of the alerting settings (``[[slos]]``) is
judged on every cluster it applies to, from the per-minute windows in the history store:

- ``SLOErrorBudgetBurn`` (availability) and ``SLOLatencyBudgetBurn`` (the share of
  requests slower than the objective's threshold): a tier of the objective's burn-rate
  table fires (``burn_rates``); the alert is as severe as the most severe tier firing
  (a change of severity resolves the old alert and opens the new one), and resolves when
  no tier fires;
- ``SLONoData``: none of the objective's targets has had a minute stored for
  ``no_data_after`` although it had some in the days judged (the longest burn window):
  the controller is gone, its metrics cannot be read, or the Ingress was renamed.

Anomalies are of kind ``SLO``, named after the objective, with no namespace; they go
through the dispatcher like any other (grouping, pacing, silences, the outbox).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import trio

from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Severity, Transition, TransitionType
from headless_agent.slo.burn_rates import TABLES, MinuteSeries, duration_text, evaluate_tiers
from headless_agent.slo.increases import MINUTE, MinuteTraffic
from headless_agent.slo.objectives import Objective
from headless_agent.slo.status import objective_series, traffic_of
from headless_agent.store import HistoryStore

log = logging.getLogger(__name__)

INTERVAL = 60.0
AVAILABILITY_BURN = "SLOErrorBudgetBurn"
LATENCY_BURN = "SLOLatencyBudgetBurn"
NO_DATA = "SLONoData"
REASONS = (AVAILABILITY_BURN, LATENCY_BURN, NO_DATA)


class TransitionSink(Protocol):
    """The dispatcher's side this needs (its settings hold the objectives)."""

    @property
    def config(self) -> object: ...

    def on_transition(self, cluster: str, transition: Transition) -> None: ...


#: (cluster, start, end) → every target's minutes in [start, end)
ReadMinutes = Callable[[str, float, float], list[MinuteTraffic]]


@dataclass(frozen=True, slots=True)
class Finding:
    key: AnomalyKey
    severity: Severity
    message_id: str
    params: tuple[tuple[str, str], ...]


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def lookback(objective: Objective) -> float:
    """How far back an objective's judgement reads (its longest window and hold)."""
    tiers = TABLES[objective.period]
    return max(max(t.long + t.hold for t in tiers), objective.no_data_after) + MINUTE


def judge(
    cluster: str, objective: Objective, minutes: Sequence[MinuteTraffic], now: float
) -> list[Finding]:
    """What one objective's minutes say at ``now`` (a minute boundary)."""
    start = now - lookback(objective)
    findings = []
    tiers = TABLES[objective.period]
    for reason, latency, target in (
        (AVAILABILITY_BURN, False, objective.availability),
        (LATENCY_BURN, True, objective.latency_target),
    ):
        if latency and objective.latency is None:
            continue
        series: MinuteSeries = objective_series(minutes, objective, start, now, latency=latency)
        firing = [
            s
            for s in evaluate_tiers(series, tiers, target, objective.min_requests, now)
            if s.firing
        ]
        if not firing:
            continue
        worst = max(firing, key=lambda s: (s.tier.severity, s.tier.factor))
        params = (
            ("slo", objective.name),
            ("burn", _number(min(worst.long_burn, worst.short_burn))),
            ("factor", _number(worst.tier.factor)),
            ("long", duration_text(worst.tier.long)),
            ("short", duration_text(worst.tier.short)),
        )
        message_id = "anomaly.slo_latency_burn" if latency else "anomaly.slo_error_burn"
        key = AnomalyKey(cluster, "SLO", "", objective.name, reason)
        findings.append(Finding(key, worst.tier.severity, message_id, params))
    seen = [m.start + m.seconds for m in minutes if objective.covers(m.target)]
    if seen and now - max(seen) >= objective.no_data_after:
        findings.append(
            Finding(
                AnomalyKey(cluster, "SLO", "", objective.name, NO_DATA),
                Severity.WARNING,
                "anomaly.slo_no_data",
                (("slo", objective.name), ("minutes", _number((now - max(seen)) / 60))),
            )
        )
    return findings


class SloAlerts:
    """Judges the objectives in the dispatcher's (current) settings and feeds it their
    alerts; ``evaluate_at`` is the whole of one round, for a fake clock."""

    def __init__(
        self,
        dispatcher: TransitionSink,
        store: HistoryStore | None,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = INTERVAL,
        read: ReadMinutes | None = None,
        clusters: Callable[[], list[str]] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.store = store
        self.clock = clock
        self.interval = interval
        self._read = read or self._read_store
        self._clusters = clusters or self._stored_clusters
        self._open: dict[AnomalyKey, Anomaly] = {}

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(getattr(self.dispatcher.config, "slos", ()))

    @property
    def open_anomalies(self) -> list[Anomaly]:
        return sorted(self._open.values(), key=lambda a: a.key)

    def _read_store(self, cluster: str, start: float, end: float) -> list[MinuteTraffic]:
        assert self.store is not None
        self.store.flush()
        return [traffic_of(w) for w in self.store.slo_traffic(cluster, start, end, seconds=MINUTE)]

    def _stored_clusters(self) -> list[str]:
        assert self.store is not None
        return [info.display_name for info in self.store.clusters()]

    async def run(self) -> None:
        while True:
            if self.objectives or self._open:
                now = self.clock()
                try:
                    findings = await trio.to_thread.run_sync(self._observe, now)
                except Exception:  # the history is unreadable now: keep what is open
                    log.exception("SLO alerts: cannot read the history")
                else:
                    self._apply(findings, now)
            await trio.sleep(self.interval)

    def evaluate_at(self, now: float) -> list[Transition]:
        """One round at ``now`` (blocking: reads the history)."""
        return self._apply(self._observe(now), now)

    def _observe(self, now: float) -> list[Finding]:
        now = now // MINUTE * MINUTE  # windows are whole minutes
        findings: list[Finding] = []
        objectives = self.objectives
        if not objectives:
            return findings
        for cluster in self._clusters():
            chosen = [o for o in objectives if o.applies_to(cluster)]
            if not chosen:
                continue
            minutes = self._read(cluster, now - max(lookback(o) for o in chosen), now)
            for objective in chosen:
                findings.extend(judge(cluster, objective, minutes, now))
        return findings

    def _apply(self, findings: list[Finding], now: float) -> list[Transition]:
        chosen = {f.key: f for f in findings}
        transitions: list[Transition] = []
        for key, opened in list(self._open.items()):
            if key not in chosen:
                del self._open[key]
                transitions.append(
                    Transition(
                        TransitionType.RESOLVED, replace(opened, last_seen=now, resolved_at=now)
                    )
                )
        for key, finding in chosen.items():
            anomaly = Anomaly(
                key, finding.severity, finding.message_id, finding.params, now, now, 1, (key.name,)
            )
            before = self._open.get(key)
            if before is not None and before.severity == anomaly.severity:
                continue  # the same alert: it keeps the figures of its opening
            if before is not None:
                ended = replace(before, last_seen=now, resolved_at=now)
                transitions.append(Transition(TransitionType.RESOLVED, ended))
            transitions.append(Transition(TransitionType.OPENED, anomaly))
            self._open[key] = anomaly
        for transition in transitions:
            self.dispatcher.on_transition(transition.anomaly.key.cluster, transition)
        return transitions
