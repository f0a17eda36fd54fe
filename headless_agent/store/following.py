"""Following a live cluster: its Warning events, pod restarts and identity into the store.

Kept apart from ``history_store`` because it needs the state package (and through it the
Kubernetes client), which recording alone does not: the agent, the benchmark and tools
import the store without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import EventRecord, NamespaceRecord, PodRecord
from headless_agent.store.identity import cluster_identity
from headless_agent.store.records import PodRestartObservation

if TYPE_CHECKING:
    from headless_agent.store.history_store import HistoryStore


async def follow_cluster(store: HistoryStore, cluster: str, state: ClusterState) -> None:
    """Until cancelled: bind the cluster's identity as soon as ``kube-system`` is known,
    and record Warning events and every change of a pod's restart count."""
    subscription = state.subscribe()
    try:
        kube_system = state.get("Namespace", "", "kube-system")
        if isinstance(kube_system, NamespaceRecord) and kube_system.uid:
            store.bind_cluster(cluster, cluster_identity(kube_system.uid, cluster))
        store.record_events(
            cluster, [e for e in state.records("Event") if isinstance(e, EventRecord)]
        )
        _restarts(
            store, cluster, state, [Change("Pod", p.key, None, p) for p in state.records("Pod")]
        )
        async for batch in subscription:
            _consume(store, cluster, state, batch)
    finally:
        subscription.close()


def _consume(store: HistoryStore, cluster: str, state: ClusterState, batch: list[Change]) -> None:
    events = []
    pods = []
    for change in batch:
        if change.kind == "Event" and isinstance(change.new, EventRecord):
            events.append(change.new)
        elif change.kind == "Pod":
            pods.append(change)
        elif (
            change.kind == "Namespace"
            and change.key == ("", "kube-system")
            and isinstance(change.new, NamespaceRecord)
            and change.new.uid
            and (change.old is None or change.old.uid != change.new.uid)
        ):
            store.bind_cluster(cluster, cluster_identity(change.new.uid, cluster))
    store.record_events(cluster, events)
    _restarts(store, cluster, state, pods)


def _restarts(
    store: HistoryStore, cluster: str, state: ClusterState, changes: list[Change]
) -> None:
    """Observations for pods whose restart count changed (or is not zero when first seen)."""
    now = store.clock()
    seen = []
    for change in changes:
        pod, old = change.new, change.old
        if not isinstance(pod, PodRecord):
            continue
        before = old.restart_count if isinstance(old, PodRecord) else None
        if pod.restart_count == before or (before is None and pod.restart_count == 0):
            continue
        owner_kind, owner_name = state.owner_of(pod)
        finished = [c.last_finished for c in pod.containers if c.last_finished is not None]
        reasons = [c.last_reason for c in pod.containers if c.last_reason]
        seen.append(
            PodRestartObservation(
                pod_uid=pod.uid or f"{pod.namespace}/{pod.name}",
                namespace=pod.namespace,
                pod=pod.name,
                restart_count=pod.restart_count,
                observed_at=now,
                owner_kind=owner_kind,
                owner_name=owner_name,
                node=pod.node,
                last_reason=reasons[-1] if reasons else "",
                last_restart_at=max(finished) if finished else None,
            )
        )
    store.record_pod_restarts(cluster, seen)
