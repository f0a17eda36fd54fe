"""History kept by a Hub watching the real control plane: it outlives the process.

The Hub records anomaly episodes, Warning events and the cluster's identity; when the app
is closed and opened again, an episode that went on meanwhile stays one episode, and one
that ended while nothing was watching is closed as such.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent.hub import ClusterHandle, Hub
from headless_agent.state.records import PodRecord
from headless_agent.store import AnomalyEpisode, HistoryStore
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    context_name,
    kubectl,
    patch_status,
    pod_status,
    wait_for,
    wait_synced,
    watch_cluster,
)
from tests.cluster.kube_objects import bare_pod, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

NS = "history-a"


def _warning_event(pod: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.backoff", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS},
        "reason": "BackOff",
        "message": "Back-off restarting failed container main in pod " + pod,
        "type": "Warning",
        "count": 7,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet"},
    }


async def _running(handle: ClusterHandle, name: str) -> None:
    def running() -> bool:
        pod = handle.state.get("Pod", NS, name)
        return isinstance(pod, PodRecord) and pod.phase == "Running" and pod.ready

    await wait_for(running, 90, f"{name} running")


def _episodes(store: HistoryStore, context: str, name: str) -> list[AnomalyEpisode]:
    store.flush()
    return [
        e
        for e in store.anomaly_timeline(context, 0, time.time() + 60)
        if e.name == name and e.reason == "CrashLoopBackOff"
    ]


async def test_history_outlives_the_app(kube_cluster: KwokCluster, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    context = context_name(kube_cluster)
    crashing = pod_status(
        [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=6)],
        ready=False,
    )

    # First run: two pods crash-loop; the history sees both, and a Warning event.
    async with trio.open_nursery() as first_run:
        hub = Hub(history=HistoryStore.open(path, start=False))
        await first_run.start(hub.run)
        handle = watch_cluster(hub, kube_cluster)
        await apply(
            kube_cluster,
            namespace(NS),
            kwok_node("history-node-a"),
            bare_pod("pay", NS, "history-node-a"),
            bare_pod("cart", NS, "history-node-a"),
        )
        await wait_synced(handle)
        for pod in ("pay", "cart"):
            await _running(handle, pod)
            await patch_status(kube_cluster, "pod", pod, NS, crashing)
        await apply(kube_cluster, _warning_event("cart"))
        store = hub.history
        assert store is not None
        for pod in ("pay", "cart"):
            await wait_for(
                lambda pod=pod: [e.is_open for e in _episodes(store, context, pod)] == [True],
                30,
                f"{pod}'s crash loop stored as open",
            )
        await wait_for(
            lambda: store.search_events(context, text="back-off restarting"), 30, "the event"
        )
        first_run.cancel_scope.cancel()

    # While the app is closed, pay recovers and cart keeps crashing.
    healthy = pod_status([container_status(restarts=6)], ready=True)
    await patch_status(kube_cluster, "pod", "pay", NS, healthy)

    # Second run, same file: pay's episode ended unseen, cart's is still the same one.
    async with trio.open_nursery() as second_run:
        hub = Hub(history=HistoryStore.open(path, start=False))
        await second_run.start(hub.run)
        handle = watch_cluster(hub, kube_cluster)
        store = hub.history
        assert store is not None
        await wait_synced(handle)

        def pay_closed_unseen() -> bool:
            [episode] = _episodes(store, context, "pay")
            return not episode.is_open and episode.transitions[-1].type == "resolved_unseen"

        await wait_for(pay_closed_unseen, 30, "pay's episode closed as ended while away")
        [cart] = _episodes(store, context, "cart")
        assert cart.is_open
        assert [t.type for t in cart.transitions] == ["opened", "continued"]

        kube_system = await kubectl(
            kube_cluster, "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"
        )
        [cluster] = store.clusters()
        assert cluster.identity == f"uid:{kube_system}"
        assert context in cluster.names
        [event] = store.search_events(context, object_name="cart")
        assert event.reason == "BackOff" and event.count == 7
        second_run.cancel_scope.cancel()
    await kubectl(kube_cluster, "delete", "namespace", NS, "--wait=false")  # no crash loop left
