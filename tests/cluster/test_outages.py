"""Outages on the real control plane: the API server restarting mid-watch, and a watch from
a compacted resourceVersion (410 Gone). The engine must converge with nothing lost and
nothing duplicated. These run on a cluster of their own, since they stop it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio

from headless_agent.hub import Hub
from headless_agent.kube.api import KubeApi
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.errors import Gone
from headless_agent.kube.health import ConnectionState
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.kube.resources import PODS
from headless_agent.kube.watching import WatchOptions, list_into, watch_once
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import PodRecord
from tests.cluster.engine_helpers import (
    Recorder,
    apply,
    container_status,
    kubectl,
    patch_status,
    pod_status,
    wait_for,
    wait_synced,
    watch_cluster,
)
from tests.cluster.kube_objects import bare_pod, deployment, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster, start_cluster

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KwokCluster]:
    try:
        cluster = start_cluster(
            name="atlhyper-outage", workdir=tmp_path_factory.mktemp("kwok-outage")
        )
    except Exception as error:
        pytest.fail(f"the outage test cluster could not start: {error}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.delete()


def _pod_names(cluster: KwokCluster, ns: str) -> set[str]:
    return {p["metadata"]["name"] for p in cluster.get("pods", "-n", ns)["items"]}


async def test_api_server_restart_mid_watch_loses_and_duplicates_nothing(
    own_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    hub = Hub()
    recorder = Recorder()
    states: list[ConnectionState] = []
    hub.transition_listeners.append(recorder)
    hub.health_listeners.append(lambda _, snapshot: states.append(snapshot.state))
    await nursery.start(hub.run)
    handle = watch_cluster(
        hub, own_cluster, options=WatchOptions(backoff_initial=0.2, backoff_max=1.0)
    )
    await apply(
        own_cluster,
        namespace("restart"),
        kwok_node("restart-node"),
        deployment("api", "restart", node="restart-node", replicas=2),
    )
    await wait_synced(handle)

    def running() -> list[PodRecord]:
        pods = [
            p
            for p in handle.state.records("Pod")
            if isinstance(p, PodRecord)
            and p.namespace == "restart"
            and p.phase == "Running"
            and p.ready
        ]
        return pods if len(pods) == 2 else []

    first, second = await wait_for(running, 60, "two running pods")
    crash = container_status(waiting="CrashLoopBackOff", restarts=3)
    await patch_status(own_cluster, "pod", first.name, "restart", pod_status([crash], ready=False))
    await wait_for(lambda: recorder.of("CrashLoopBackOff") == ["opened"], 10, "crash loop opened")

    await trio.to_thread.run_sync(own_cluster.restart)
    # Changes made as soon as the API answers again, before the engine is back.
    await patch_status(
        own_cluster,
        "pod",
        second.name,
        "restart",
        pod_status([container_status(waiting="ImagePullBackOff")], ready=False),
    )
    await patch_status(
        own_cluster,
        "pod",
        first.name,
        "restart",
        pod_status([container_status(restarts=3)], ready=True),
    )
    await kubectl(own_cluster, "scale", "deployment/api", "-n", "restart", "--replicas=3")

    await wait_for(
        lambda: recorder.of("ImagePullBackOff") == ["opened"],
        60,
        "image pull failure after restart",
    )
    await wait_for(
        lambda: recorder.of("CrashLoopBackOff") == ["opened", "resolved"], 30, "crash loop resolved"
    )
    await wait_for(
        lambda: len([p for p in handle.state.records("Pod") if p.namespace == "restart"]) == 3,
        60,
        "third pod",
    )
    await wait_synced(handle)
    expected = await trio.to_thread.run_sync(_pod_names, own_cluster, "restart")
    assert {p.name for p in handle.state.records("Pod") if p.namespace == "restart"} == expected
    assert ConnectionState.DEGRADED in states or ConnectionState.OFFLINE in states, states
    opened = [t.anomaly.key for _, t in recorder.transitions if t.type.value == "opened"]
    assert len(opened) == len(set(opened)), f"an anomaly opened twice: {opened}"
    nursery.cancel_scope.cancel()


async def test_watch_from_a_compacted_version_gets_410_and_relists_correctly(
    own_cluster: KwokCluster,
) -> None:
    await apply(
        own_cluster,
        namespace("gone"),
        kwok_node("gone-node"),
        deployment("keep", "gone", node="gone-node", replicas=2),
        bare_pod("drop-1", "gone", "gone-node"),
    )
    await wait_for(lambda: len(_pod_names(own_cluster, "gone")) == 3, 60, "three pods")
    kubeconfigs = load_kubeconfigs([own_cluster.kubeconfig])
    assert kubeconfigs.current_context
    credentials = await trio.to_thread.run_sync(
        resolve_credentials, kubeconfigs, kubeconfigs.current_context
    )
    api = KubeApi(credentials)
    state = ClusterState("gone")
    version = await list_into(api, state, PODS, "gone", page_size=1)  # paged: 3 pages
    assert len(list(state.records("Pod"))) == 3
    subscription = state.subscribe()

    # While "disconnected": one pod removed, a workload scaled up, one pod's status changed.
    await kubectl(own_cluster, "delete", "pod/drop-1", "-n", "gone", "--grace-period=0", "--force")
    await kubectl(own_cluster, "scale", "deployment/keep", "-n", "gone", "--replicas=3")
    await wait_for(
        lambda: (
            len(_pod_names(own_cluster, "gone")) == 3
            and not any(n.startswith("drop") for n in _pod_names(own_cluster, "gone"))
        ),
        90,
        "drop gone, keep scaled",
    )
    keep_pod = sorted(p.name for p in state.records("Pod") if p.name.startswith("keep"))[0]
    await patch_status(
        own_cluster,
        "pod",
        keep_pod,
        "gone",
        pod_status([container_status(waiting="CrashLoopBackOff")], ready=False),
    )
    own_cluster.compact_etcd()
    await trio.to_thread.run_sync(own_cluster.restart)  # the watch cache restarts past `version`
    await wait_for(
        lambda: own_cluster.kubectl("get", "--raw", "/readyz").returncode == 0, 60, "API ready"
    )

    with pytest.raises(Gone):
        await watch_once(api, state, PODS, "gone", version, WatchOptions())
    await list_into(api, state, PODS, "gone", page_size=1)
    changes = subscription.take()
    truth = await trio.to_thread.run_sync(_pod_names, own_cluster, "gone")
    assert {p.name for p in state.records("Pod")} == truth
    deleted = {c.key[1] for c in changes if c.type == "deleted"}
    added = {c.key[1] for c in changes if c.type == "added"}
    updated = {c.key[1] for c in changes if c.type == "updated"}
    assert deleted and all(n.startswith("drop") for n in deleted)
    assert len(added) == 1 and keep_pod in updated
    assert not (deleted & added), "no object both deleted and added"
    crashing = state.get("Pod", "gone", keep_pod)
    assert isinstance(crashing, PodRecord) and crashing.display_status == "CrashLoopBackOff"
    await api.aclose()
