"""The agent's side of a cluster: its Hub's state, anomalies and health into journals,
node samples from the probes into theirs, and the SLO minutes of its collector into theirs.

One trio task (``run``) follows the cluster's changes; anomaly transitions and health
changes arrive through the Hub's listeners. Everything becomes one numbered journal line,
so a hub can resume exactly where its connection broke.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from headless_agent.agent import protocol
from headless_agent.agent.journal import Journal, JournalLimits
from headless_agent.detect.anomaly import Transition
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.health import HealthSnapshot
from headless_agent.store.records import AuditEntry, SloWindow
from headless_agent.store.samples import NodeSamples, series_name
from nodeprobe.wire import Batch


def _sample_limits() -> JournalLimits:
    return JournalLimits(max_lines=2_000_000, max_bytes=256 * 2**20)


@dataclass(frozen=True)
class RelayLimits:
    changes: JournalLimits = field(default_factory=JournalLimits)
    #: node samples: 6 h by default, and never more than this many bytes
    samples: JournalLimits = field(default_factory=_sample_limits)
    #: SLO minutes (one line per Ingress route and minute, a few hundred bytes each)
    slo_minutes: JournalLimits = field(default_factory=JournalLimits)


def samples_of(batch: Batch) -> list[NodeSamples]:
    """A probe's batch as the store's samples: one per collection, counters apart."""
    counters = {name for name, field in batch.fields.items() if field.kind == "counter"}
    out = []
    for sample in batch.samples:
        gauges: dict[str, float] = {}
        counts: dict[str, float] = {}
        for (name, labels), value in sample.values.items():
            (counts if name in counters else gauges)[series_name(name, labels)] = value
        out.append(NodeSamples(batch.node, sample.timestamp, gauges, counts))
    return out


class Relay:
    def __init__(
        self,
        hub: Hub,
        handle: ClusterHandle,
        limits: RelayLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        limits = limits or RelayLimits()
        self.hub = hub
        self.handle = handle
        self.clock = clock
        self.changes = Journal(limits.changes, clock=clock)
        self.samples = Journal(limits.samples, clock=clock)
        self.samples_received = 0
        self.slo_minutes = Journal(limits.slo_minutes, clock=clock)
        #: the commands this agent ran, numbered (its own audit, so a hub that was not
        #: the caller can show them); bounded, newest last
        self.audit: deque[tuple[int, AuditEntry]] = deque(maxlen=10_000)
        self._audit_seq = 0
        self.probes: dict[str, float] = {}  # node → when its last batch came
        hub.transition_listeners.append(self._on_transition)
        hub.health_listeners.append(self._on_health)

    @property
    def cluster(self) -> str:
        return self.handle.name

    async def run(self) -> None:
        """Until cancelled: every change of the cluster's state into the journal."""
        subscription = self.handle.state.subscribe()
        try:
            async for batch in subscription:
                for change in batch:
                    self.changes.append(protocol.change_line(change))
        finally:
            subscription.close()

    def _on_transition(self, cluster: str, transition: Transition) -> None:
        if cluster == self.cluster:
            self.changes.append(protocol.anomaly_line(transition, self.clock()))

    def _on_health(self, cluster: str, snapshot: HealthSnapshot) -> None:
        if cluster == self.cluster:
            self.changes.append(protocol.health_line(snapshot))

    def record_audit(self, entry: AuditEntry) -> None:
        """The agent's audit sink (``Operations(audit=relay.record_audit)``)."""
        self._audit_seq += 1
        self.audit.append((self._audit_seq, entry))

    def snapshot(self) -> bytes:
        """The cluster now, and the cursor to stream from after it."""
        state = self.handle.state
        return protocol.snapshot_document(
            self.cluster,
            self.changes.last,
            self.handle.health.snapshot,
            {kind: list(state.records(kind)) for kind in state.kinds()},
            self.handle.detector.open_anomalies(),
        )

    def add_batch(self, batch: Batch) -> int:
        """A probe's batch into the samples journal; returns how many samples it held."""
        samples = samples_of(batch)
        for sample in samples:
            self.samples.append(orjson.dumps(protocol.samples_document(sample)))
        self.samples_received += len(samples)
        self.probes[batch.node] = self.clock()
        return len(samples)

    def samples_after(self, after: int, limit: int) -> bytes:
        """The samples document for ``GET /v1/node-samples`` (from the oldest kept when
        ``after`` is older than that: the hub sees the gap from ``oldest``)."""
        return self.samples.page(after, limit, "samples")

    def record_slo_minutes(self, cluster: str, windows: Sequence[SloWindow]) -> None:
        """The agent's SLO collector's sink (in place of a history store): its finished
        minutes into their journal, for hubs to fetch."""
        if cluster != self.cluster:
            return
        for window in windows:
            self.slo_minutes.append(orjson.dumps(protocol.slo_minute_document(window)))

    def slo_minutes_after(self, after: int, limit: int) -> bytes:
        """The document for ``GET /v1/slo-minutes``, paged as node samples are."""
        return self.slo_minutes.page(after, limit, "minutes")
