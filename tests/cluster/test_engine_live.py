"""The engine against the real control plane: sync, then anomalies opened and resolved as
pod and node statuses change on the API server."""

from __future__ import annotations

import pytest
import trio

from headless_agent.detect.anomaly import Severity
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.api import KubeApi
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.kube.resources import ResourceKind
from headless_agent.kube.watching import WatchOptions, WatchStalled, list_into, watch_once
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import NodeRecord, PodRecord
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    patch_status,
    pod_status,
    start_hub,
    wait_for,
    wait_synced,
    watch_cluster,
)
from tests.cluster.kube_objects import deployment, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

# An idle kind in an empty namespace: its watch receives nothing at all.
CONFIGMAPS_FOR_TEST = ResourceKind("ConfigMap", "", "v1", "configmaps", namespaced=True)


async def _running_pods(handle: ClusterHandle, ns: str, app: str, count: int) -> list[PodRecord]:
    def pods() -> list[PodRecord]:
        found = [
            p
            for p in handle.state.records("Pod")
            if isinstance(p, PodRecord)
            and p.namespace == ns
            and ("app", app) in p.labels
            and p.phase == "Running"
            and p.ready
        ]
        return found if len(found) == count else []

    return await wait_for(pods, 90, f"{count} running pods of {app} in the engine's state")  # type: ignore[no-any-return]


async def test_engine_syncs_and_follows_a_deployment(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    hub = Hub()
    await nursery.start(hub.run)
    handle = watch_cluster(hub, kube_cluster)
    await wait_synced(handle)
    await apply(
        kube_cluster,
        namespace("engine-a"),
        kwok_node("engine-node-a"),
        deployment("api", "engine-a", node="engine-node-a", replicas=2),
    )
    pods = await _running_pods(handle, "engine-a", "api", 2)
    assert {p.node for p in pods} == {"engine-node-a"}
    assert all(handle.state.owner_of(p) == ("Deployment", "api") for p in pods)
    node = handle.state.get("Node", "", "engine-node-a")
    assert isinstance(node, NodeRecord) and node.ready_status == "True"
    assert node.cpu_allocatable_milli == 32000
    nursery.cancel_scope.cancel()


async def test_crash_loop_groups_by_deployment_and_resolves(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    handle, recorder = await start_hub(nursery, kube_cluster)
    await apply(
        kube_cluster,
        namespace("engine-b"),
        kwok_node("engine-node-b"),
        deployment("checkout", "engine-b", node="engine-node-b", replicas=3),
    )
    await wait_synced(handle)
    pods = await _running_pods(handle, "engine-b", "checkout", 3)
    assert recorder.of("CrashLoopBackOff", "checkout") == [], "a healthy start opens nothing"

    crashing = container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=4)
    await patch_status(
        kube_cluster, "pod", pods[0].name, "engine-b", pod_status([crashing], ready=False)
    )
    await wait_for(
        lambda: recorder.of("CrashLoopBackOff", "checkout") == ["opened"], 10, "crash loop opened"
    )
    anomaly = next(
        a
        for a in handle.detector.open_anomalies()
        if a.key.reason == "CrashLoopBackOff" and a.key.namespace == "engine-b"
    )
    assert anomaly.key.kind == "Deployment" and anomaly.key.namespace == "engine-b"
    assert anomaly.severity is Severity.CRITICAL and anomaly.count == 1

    await patch_status(
        kube_cluster, "pod", pods[1].name, "engine-b", pod_status([crashing], ready=False)
    )
    await wait_for(
        lambda: recorder.of("CrashLoopBackOff", "checkout") == ["opened", "updated"],
        10,
        "second pod grouped",
    )
    anomaly = next(
        a
        for a in handle.detector.open_anomalies()
        if a.key.reason == "CrashLoopBackOff" and a.key.namespace == "engine-b"
    )
    assert anomaly.count == 2 and set(anomaly.members) == {pods[0].name, pods[1].name}

    healthy = container_status(restarts=4)
    for pod in pods[:2]:
        await patch_status(
            kube_cluster, "pod", pod.name, "engine-b", pod_status([healthy], ready=True)
        )
    await wait_for(
        lambda: recorder.of("CrashLoopBackOff", "checkout")[-1:] == ["resolved"],
        10,
        "crash loop resolved",
    )
    assert recorder.of("CrashLoopBackOff", "checkout").count("opened") == 1
    nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("reason", "container"),
    [
        ("OOMKilled", container_status(terminated="OOMKilled", restarts=1)),
        ("ImagePullBackOff", container_status(waiting="ImagePullBackOff")),
        ("ErrImagePull", container_status(waiting="ErrImagePull")),
        ("InvalidImageName", container_status(waiting="InvalidImageName")),
        ("CreateContainerConfigError", container_status(waiting="CreateContainerConfigError")),
        ("CreateContainerError", container_status(waiting="CreateContainerError")),
        ("RunContainerError", container_status(waiting="RunContainerError")),
        ("StartError", container_status(terminated="StartError")),
    ],
)
async def test_container_failures_open_and_resolve(
    kube_cluster: KwokCluster, nursery: trio.Nursery, reason: str, container: dict[str, object]
) -> None:
    ns = f"engine-{reason.lower()}"
    handle, recorder = await start_hub(nursery, kube_cluster)
    await apply(
        kube_cluster,
        namespace(ns),
        kwok_node("engine-node-c"),
        deployment("svc", ns, node="engine-node-c", replicas=1),
    )
    (pod,) = await _running_pods(handle, ns, "svc", 1)
    await patch_status(kube_cluster, "pod", pod.name, ns, pod_status([container], ready=False))
    await wait_for(lambda: "opened" in recorder.of(reason), 10, f"{reason} opened")
    await patch_status(
        kube_cluster, "pod", pod.name, ns, pod_status([container_status()], ready=True)
    )
    await wait_for(lambda: recorder.of(reason)[-1:] == ["resolved"], 10, f"{reason} resolved")
    nursery.cancel_scope.cancel()


async def test_node_not_ready_and_pressure(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    handle, recorder = await start_hub(nursery, kube_cluster)
    await wait_synced(handle)
    # No kwok annotation: nothing heartbeats this node, so its status is ours to set.
    node = kwok_node("engine-unmanaged")
    del node["metadata"]["annotations"]["kwok.x-k8s.io/node"]
    await apply(kube_cluster, node)

    def condition(kind: str, status: str) -> dict[str, str]:
        return {
            "type": kind,
            "status": status,
            "reason": f"Test{kind}",
            "message": f"{kind} is {status}",
        }

    await patch_status(
        kube_cluster,
        "node",
        "engine-unmanaged",
        None,
        {"conditions": [condition("Ready", "False"), condition("DiskPressure", "True")]},
    )
    await wait_for(
        lambda: "opened" in recorder.of("NodeNotReady", "engine-unmanaged"), 10, "NotReady opened"
    )
    await wait_for(
        lambda: "opened" in recorder.of("DiskPressure", "engine-unmanaged"),
        10,
        "DiskPressure opened",
    )
    await patch_status(
        kube_cluster,
        "node",
        "engine-unmanaged",
        None,
        {"conditions": [condition("Ready", "True"), condition("DiskPressure", "False")]},
    )
    await wait_for(
        lambda: recorder.of("NodeNotReady", "engine-unmanaged")[-1:] == ["resolved"],
        10,
        "NotReady resolved",
    )
    await wait_for(
        lambda: recorder.of("DiskPressure", "engine-unmanaged")[-1:] == ["resolved"],
        10,
        "pressure resolved",
    )
    await trio.to_thread.run_sync(
        lambda: kube_cluster.kubectl("delete", "node", "engine-unmanaged")
    )
    nursery.cancel_scope.cancel()


async def test_a_silent_watch_is_declared_dead_and_resumed(kube_cluster: KwokCluster) -> None:
    """A connection that stops delivering anything (laptop sleep, VPN change) must not hang."""
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    assert kubeconfigs.current_context
    credentials = await trio.to_thread.run_sync(
        resolve_credentials, kubeconfigs, kubeconfigs.current_context
    )
    api = KubeApi(credentials)
    state = ClusterState("silent")
    await apply(kube_cluster, namespace("engine-silent"))
    version = await list_into(api, state, CONFIGMAPS_FOR_TEST, "engine-silent", page_size=10)
    options = WatchOptions(inactivity_timeout=1.0)
    started = trio.current_time()
    with pytest.raises(WatchStalled):
        await watch_once(api, state, CONFIGMAPS_FOR_TEST, "engine-silent", version, options)
    assert 0.9 < trio.current_time() - started < 5
    await api.aclose()


async def test_a_quiet_kind_is_watched_again_without_looking_degraded(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    # Some kinds get no events and no bookmarks for minutes; the inactivity deadline then
    # opens a new watch, which must not flip the cluster to degraded each time.
    hub = Hub()
    states: list[str] = []
    hub.health_listeners.append(lambda _, snapshot: states.append(snapshot.state.value))
    await nursery.start(hub.run)
    handle = watch_cluster(hub, kube_cluster, options=WatchOptions(inactivity_timeout=1.0))
    await wait_synced(handle)
    synced_at = len(states)
    await trio.sleep(4)  # several inactivity deadlines on every quiet kind
    assert states[synced_at - 1 :] == ["synced"]
    await apply(kube_cluster, namespace("engine-quiet"))
    await wait_for(lambda: handle.state.get("Namespace", "", "engine-quiet"), 10, "still watching")
    nursery.cancel_scope.cancel()
