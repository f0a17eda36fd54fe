"""The Detector turns a ClusterState's changes into anomaly transitions.

For each changed object it runs the rules of its kind, applies grace periods (a pod
Pending for 5 s is not a problem, for 5 min it is), groups pods under the workload that
owns them (a crashing Deployment of 50 replicas is one anomaly counting 50 pods), and
emits ``opened``, ``updated`` and ``resolved`` transitions. Time-driven changes (a grace
period passing, an OOM kill ageing out of its window) are re-checked on timers.

Because only what is wrong produces findings, the first LIST of a cluster opens exactly
the problems that exist now — never a flood of "created".
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import trio

from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition, TransitionType
from headless_agent.detect.rules import RULES, DetectionSettings, Finding, RuleBook
from headless_agent.state.cluster_state import Change, ClusterState, ObjectKey, Subscription
from headless_agent.state.records import EventRecord, PodRecord, Record

Subject = tuple[str, ObjectKey]  # (kind, (namespace, name))
Listener = Callable[[Transition], None]


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    finding: Finding
    since: float


class Detector:
    """Anomaly detection for one cluster."""

    def __init__(
        self,
        state: ClusterState,
        *,
        settings: DetectionSettings | None = None,
        rules: RuleBook = RULES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.settings = settings or DetectionSettings()
        self.rules = rules
        self.clock = clock
        self.listeners: list[Listener] = []
        self._active: dict[Subject, dict[AnomalyKey, _Member]] = {}
        self._first_seen: dict[Subject, dict[str, float]] = {}
        self._groups: dict[AnomalyKey, dict[Subject, _Member]] = {}
        self._open: dict[AnomalyKey, Anomaly] = {}
        self._timers: list[tuple[float, int, Subject]] = []
        self._sequence = itertools.count()
        self._restarts: dict[ObjectKey, deque[tuple[float, int]]] = {}
        self._by_owner: dict[tuple[str, str, str], set[Subject]] = {}
        #: anomalies found but still inside their grace period, per object
        self._pending: dict[Subject, set[AnomalyKey]] = {}
        self._subscription: Subscription | None = None
        self._idle = trio.Event()  # set whenever every published change has been evaluated

    # --- RuleContext -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.clock()

    def records(self, kind: str) -> Iterable[Record]:
        return self.state.records(kind)

    def restarts_within(self, pod: PodRecord, seconds: float) -> tuple[int, float | None]:
        history = self._restarts.get(pod.key)
        if not history:
            return 0, None
        cutoff = self.now - seconds
        inside = [(t, n) for t, n in history if t >= cutoff]
        if not inside:
            return 0, None
        return sum(n for _, n in inside), inside[0][0] + seconds

    # --- reading ---------------------------------------------------------------------------

    def open_anomalies(self) -> list[Anomaly]:
        return sorted(self._open.values(), key=lambda a: (-a.severity, a.key))

    def tracked_keys(self) -> set[AnomalyKey]:
        """Anomalies open now or waiting out their grace period: what a history that
        outlived the process may still count as ongoing."""
        pending = set().union(*self._pending.values()) if self._pending else set()
        return set(self._open) | pending

    async def caught_up(self) -> None:
        """Return once every change the state has published so far has been evaluated."""
        while True:
            await self._idle.wait()
            if self._subscription is not None and self._subscription.pending() == 0:
                return
            self._idle = trio.Event()  # more arrived since: wait for the next idle moment

    # --- processing ------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the state's changes and the timers until cancelled."""
        subscription = self._subscription = self.state.subscribe()
        try:
            self.process(subscription.take())
            for kind in list(self.state.kinds()):  # whatever the state held before we came
                self.process(Change(kind, r.key, None, r) for r in list(self.state.records(kind)))
            while True:
                if subscription.pending() == 0:
                    self._idle.set()
                delay = self._timers[0][0] - self.now if self._timers else math.inf
                with trio.move_on_after(max(delay, 0.0)):
                    self.process(await subscription.next_batch())
                    continue
                self.fire_timers()
        finally:
            self._subscription = None
            subscription.close()

    def fire_timers(self) -> None:
        """Re-evaluate every object whose timer is due."""
        now = self.now
        due: set[Subject] = set()
        while self._timers and self._timers[0][0] <= now:
            due.add(heapq.heappop(self._timers)[2])
        dirty: set[AnomalyKey] = set()
        for kind, key in due:
            dirty |= self._evaluate((kind, key), self.state.get(kind, *key))
        self._emit(dirty)

    def process(self, changes: Iterable[Change]) -> None:
        """Evaluate a batch of changes and emit the transitions they cause."""
        dirty: set[AnomalyKey] = set()
        follow_ups: set[Subject] = set()
        for change in changes:
            subject = (change.kind, change.key)
            if change.kind == "Pod":
                self._track_restarts(change)
            dirty |= self._evaluate(subject, change.new)
            follow_ups |= self._dependants(change)
        for subject in follow_ups:
            dirty |= self._evaluate(subject, self.state.get(subject[0], *subject[1]))
        self._emit(dirty)

    def _dependants(self, change: Change) -> set[Subject]:
        """Objects whose findings depend on the changed one: pods grouped through a
        ReplicaSet or Job that just arrived, services whose endpoints or pods changed."""
        kind, (namespace, name) = change.kind, change.key
        if kind in ("ReplicaSet", "Job"):
            return set(self._by_owner.get((namespace, kind, name), ()))
        if kind == "EndpointSlice":
            record = change.new or change.old
            service = getattr(record, "service", "")
            return {("Service", (namespace, service))} if service else set()
        if kind == "Pod":
            return {
                ("Service", s.key)
                for s in self.state.records("Service")
                if s.namespace == namespace
            }
        return set()

    def _track_restarts(self, change: Change) -> None:
        key = change.key
        if change.new is None:
            self._restarts.pop(key, None)
            return
        if not isinstance(change.old, PodRecord) or not isinstance(change.new, PodRecord):
            return
        delta = change.new.restart_count - change.old.restart_count
        if delta > 0:
            history = self._restarts.setdefault(key, deque(maxlen=256))
            history.append((self.now, delta))

    def _evaluate(self, subject: Subject, record: Record | None) -> set[AnomalyKey]:
        kind = subject[0]
        now = self.now
        findings = self.rules.evaluate(kind, record, self) if record is not None else []
        active: dict[AnomalyKey, _Member] = {}
        previously_seen = self._first_seen.pop(subject, {})
        seen: dict[str, float] = {}
        pending: set[AnomalyKey] = set()
        for finding in findings:
            first = seen[finding.reason] = previously_seen.get(finding.reason, now)
            since = finding.since if finding.since is not None else first
            starts = since + finding.grace
            if finding.expires_at is not None and finding.expires_at <= now:
                continue
            if starts > now:
                self._schedule(starts, subject)
                assert record is not None
                pending.add(self._group_of(kind, record, finding)[0])
                continue
            if finding.expires_at is not None:
                self._schedule(finding.expires_at, subject)
            assert record is not None
            group, member = self._group_of(kind, record, finding)
            active[group] = _Member(member, finding, min(since, now))
        if seen:
            self._first_seen[subject] = seen
        if pending:
            self._pending[subject] = pending
        else:
            self._pending.pop(subject, None)
        previous = self._active.pop(subject, {})
        if active:
            self._active[subject] = active
        self._index_owner(subject, record, bool(active) or any(f.grace for f in findings))
        dirty = set()
        for group in previous.keys() | active.keys():
            members = self._groups.setdefault(group, {})
            if group in active:
                if members.get(subject) != active[group]:
                    members[subject] = active[group]
                    dirty.add(group)
            elif subject in members:
                del members[subject]
                dirty.add(group)
            if not members:
                del self._groups[group]
        return dirty

    def _index_owner(self, subject: Subject, record: Record | None, keep: bool) -> None:
        if not isinstance(record, PodRecord) or not record.owner_kind:
            return
        slot = (record.namespace, record.owner_kind, record.owner_name)
        if keep:
            self._by_owner.setdefault(slot, set()).add(subject)
        elif slot in self._by_owner:
            self._by_owner[slot].discard(subject)
            if not self._by_owner[slot]:
                del self._by_owner[slot]

    def _group_of(self, kind: str, record: Record, finding: Finding) -> tuple[AnomalyKey, str]:
        cluster = self.state.cluster
        if isinstance(record, PodRecord):
            return self._pod_group(record, finding.reason), record.name
        if isinstance(record, EventRecord):
            if record.object_kind == "Pod":
                pod = self.state.get("Pod", record.object_namespace, record.object_name)
                if isinstance(pod, PodRecord):
                    return self._pod_group(pod, finding.reason), pod.name
            key = AnomalyKey(
                cluster,
                record.object_kind,
                record.object_namespace,
                record.object_name,
                finding.reason,
            )
            return key, record.object_name
        return AnomalyKey(cluster, kind, record.namespace, record.name, finding.reason), record.name

    def _pod_group(self, pod: PodRecord, reason: str) -> AnomalyKey:
        owner_kind, owner_name = self.state.owner_of(pod)
        if owner_kind and owner_name:
            return AnomalyKey(self.state.cluster, owner_kind, pod.namespace, owner_name, reason)
        return AnomalyKey(self.state.cluster, "Pod", pod.namespace, pod.name, reason)

    def _schedule(self, when: float, subject: Subject) -> None:
        heapq.heappush(self._timers, (when, next(self._sequence), subject))

    def _emit(self, dirty: set[AnomalyKey]) -> None:
        now = self.now
        for group in sorted(dirty):
            members = self._groups.get(group)
            before = self._open.get(group)
            if not members:
                if before is not None:
                    del self._open[group]
                    resolved = replace(before, last_seen=now, resolved_at=now)
                    self._notify(Transition(TransitionType.RESOLVED, resolved))
                continue
            ordered = sorted(members.values(), key=lambda m: (-m.finding.severity, m.name))
            lead = ordered[0]
            names = tuple(sorted(m.name for m in ordered))
            anomaly = Anomaly(
                key=group,
                severity=lead.finding.severity,
                message_id=lead.finding.message_id,
                params=lead.finding.params,
                first_seen=before.first_seen if before else min(m.since for m in ordered),
                last_seen=now,
                count=len(names),
                members=names,
            )
            if before is None:
                self._open[group] = anomaly
                self._notify(Transition(TransitionType.OPENED, anomaly))
            elif (before.severity, before.message_id, before.params, before.members) != (
                anomaly.severity,
                anomaly.message_id,
                anomaly.params,
                anomaly.members,
            ):
                self._open[group] = anomaly
                self._notify(Transition(TransitionType.UPDATED, anomaly))

    def _notify(self, transition: Transition) -> None:
        for listener in list(self.listeners):
            listener(transition)
