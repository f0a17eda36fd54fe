"""From anomaly transitions to notifications in the durable outbox, grouped and paced.

A transition that matches a rule joins a *group* (by cluster and owner by default). A new
group waits ``group_wait`` for its siblings (20 crashing pods of one Deployment are one
message), then one notification goes out per channel; later changes go out at most every
``group_interval``; a group still open is repeated every ``repeat_interval``; when all of
it is resolved, one resolve message (if the rule asks for it). A group that resolves
before its first message says nothing: a blip is not news.

Every notification is written to the outbox (``HistoryStore.enqueue_alert``) before any
delivery is tried, with a stable id (the group and its sequence number) that receivers can
use to drop duplicates; ``delivery`` sends what is in the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from headless_agent.alerts.config import AlertConfig, Rule
from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition, TransitionType
from headless_agent.store import HistoryStore, OutboxAlert

log = logging.getLogger(__name__)

#: how often a fully silenced or inhibited group is looked at again
QUIET_RECHECK = 15.0


def matches(rule: Rule, anomaly: Anomaly) -> bool:
    key = anomaly.key
    return (
        anomaly.severity >= rule.severity
        and (not rule.reasons or key.reason in rule.reasons)
        and (not rule.clusters or key.cluster in rule.clusters)
        and (not rule.namespaces or key.namespace in rule.namespaces)
    )


def _group_key(by: tuple[str, ...], key: AnomalyKey) -> tuple[str, ...]:
    parts = {
        "cluster": (key.cluster,),
        "owner": (key.kind, key.namespace, key.name),
        "namespace": (key.namespace,),
        "reason": (key.reason,),
    }
    return tuple(value for name in by for value in parts[name])


@dataclass
class _Group:
    rule: Rule
    key: tuple[str, ...]
    id: str
    started: float
    open: dict[AnomalyKey, Anomaly] = field(default_factory=dict)
    resolved: dict[AnomalyKey, Anomaly] = field(default_factory=dict)
    sent: int = 0  # notifications so far (the sequence of the next one)
    last_sent: float = -math.inf
    changed: bool = True
    #: everything in it is silenced or inhibited: look again then
    quiet_until: float = -math.inf


def anomaly_document(anomaly: Anomaly) -> dict[str, Any]:
    key = anomaly.key
    return {
        "cluster": key.cluster,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "reason": key.reason,
        "severity": anomaly.severity.label,
        "message_id": anomaly.message_id,
        "params": [list(p) for p in anomaly.params],
        "count": anomaly.count,
        "members": list(anomaly.members),
        "first_seen": anomaly.first_seen,
        "resolved_at": anomaly.resolved_at,
    }


class Dispatcher:
    def __init__(
        self,
        config: AlertConfig,
        store: HistoryStore,
        *,
        clock: Callable[[], float] = time.time,
        suppressed: Callable[[Anomaly, float], bool] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        #: silences and inhibitions: an anomaly nobody should hear about now
        self.suppressed = suppressed or (lambda anomaly, at: False)
        self._groups: dict[str, _Group] = {}
        self._wake = trio.Event()
        #: called after notifications were put in the outbox (delivery wakes up)
        self.enqueued: list[Callable[[], None]] = []

    def reconfigure(self, config: AlertConfig) -> None:
        """New rules and grouping (the settings were edited): groups of a rule that is
        still there go on under its new form; those of a removed rule are forgotten."""
        self.config = config
        rules = {rule.name: rule for rule in config.rules}
        for group_id, group in list(self._groups.items()):
            if group.rule.name in rules:
                group.rule = rules[group.rule.name]
            else:
                del self._groups[group_id]
        self._wake.set()

    # --- input -------------------------------------------------------------------------------

    def on_transition(self, cluster: str, transition: Transition) -> None:
        """Fits ``Hub.transition_listeners``."""
        anomaly = transition.anomaly
        for rule in self.config.rules:
            if not matches(rule, anomaly):
                continue
            key = _group_key(self.config.grouping.by, anomaly.key)
            group_id = hashlib.sha256(repr((rule.name, key)).encode()).hexdigest()[:20]
            group = self._groups.get(group_id)
            if transition.type is TransitionType.RESOLVED:
                if group is None or anomaly.key not in group.open:
                    continue
                del group.open[anomaly.key]
                group.resolved[anomaly.key] = anomaly
            else:
                if group is None:
                    group = self._groups[group_id] = _Group(rule, key, group_id, self.clock())
                group.open[anomaly.key] = anomaly
                group.resolved.pop(anomaly.key, None)
            group.changed = True
        self._wake.set()

    # --- pacing ------------------------------------------------------------------------------

    def _due(self, group: _Group) -> float:
        return max(self._paced(group), group.quiet_until)

    def _paced(self, group: _Group) -> float:
        grouping = self.config.grouping
        if group.sent == 0:
            return group.started + grouping.group_wait
        if group.changed:
            return group.last_sent + grouping.group_interval
        if group.open:
            return group.last_sent + grouping.repeat_interval
        return math.inf

    async def run(self) -> None:
        """Until cancelled: send what is due, sleep until the next thing is."""
        while True:
            self.flush_due()
            following = min((self._due(g) for g in self._groups.values()), default=math.inf)
            self._wake = trio.Event()
            with trio.move_on_after(max(0.0, following - self.clock())):
                await self._wake.wait()

    def flush_due(self) -> int:
        """Put every due notification in the outbox; returns how many groups spoke."""
        now = self.clock()
        spoke = 0
        for group_id, group in list(self._groups.items()):
            if self._due(group) > now:
                continue
            if not group.open:
                # All resolved: a resolve message if it was ever announced, then forget it.
                if group.sent and group.rule.resolved:
                    self._enqueue(group, "resolved", now)
                    spoke += 1
                del self._groups[group_id]
                continue
            if all(self.suppressed(a, now) for a in group.open.values()):
                group.quiet_until = now + QUIET_RECHECK  # silenced or inhibited for now
                continue
            self._enqueue(group, "firing", now)
            spoke += 1
        if spoke:
            for callback in list(self.enqueued):
                callback()
        return spoke

    def _enqueue(self, group: _Group, status: str, now: float) -> None:
        notification_id = f"{group.id}-{group.sent}"
        payload = {
            "id": notification_id,
            "group": group.id,
            "status": status,
            "rule": group.rule.name,
            "group_key": list(group.key),
            "at": now,
            "alerts": [
                anomaly_document(a) for a in sorted(group.open.values(), key=lambda a: a.key)
            ],
            "resolved": [
                anomaly_document(a) for a in sorted(group.resolved.values(), key=lambda a: a.key)
            ],
        }
        for channel in group.rule.channels:
            self.store.enqueue_alert(OutboxAlert(channel, notification_id, payload, now))
        group.sent += 1
        group.last_sent = now
        group.changed = False
        group.resolved.clear()
        log.info("%s: %s notification %s to %s", group.rule.name, status, notification_id,
                 ", ".join(group.rule.channels))  # fmt: skip
