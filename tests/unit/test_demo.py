"""The demo fleet runs through the real state and detection: believable clusters, and the
scripted incidents open and resolve as anomalies."""

from __future__ import annotations

import trio
import trio.testing

from headless_agent.demo.fleet import DemoCluster
from headless_agent.demo.source import demo_specs
from headless_agent.detect.anomaly import Transition
from headless_agent.hub import Hub
from headless_agent.kube.health import ConnectionState
from headless_agent.state.records import NodeRecord, PodRecord, WorkloadRecord

T0 = 1_790_000_000.0


async def test_demo_fleet_plays_its_incidents(autojump_clock: trio.testing.MockClock) -> None:
    hub = Hub(clock=lambda: T0 + trio.current_time())
    log: list[tuple[str, str, str, str, int]] = []

    def record(cluster: str, t: Transition) -> None:
        log.append(
            (cluster, t.type.value, t.anomaly.key.reason, t.anomaly.key.name, t.anomaly.count)
        )

    hub.transition_listeners.append(record)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        handles = hub.watch_demo()
        await trio.sleep(1)
        assert {h.name for h in handles} == {"demo-prod-eu", "demo-staging", "demo-edge-tokyo"}
        for handle in handles:
            assert handle.is_demo and "Demo" in handle.description
            assert handle.health.snapshot.state is ConnectionState.SYNCED
        prod = hub.clusters["demo-prod-eu"].state
        assert prod.count("Node") == 7 and prod.count("Pod") > 20
        assert all(isinstance(p, PodRecord) and p.ready for p in prod.records("Pod"))
        assert log == [], "a healthy fleet opens nothing at start"
        await trio.sleep(400)
        nursery.cancel_scope.cancel()

    def seen(cluster: str, kind: str, reason: str, name: str) -> bool:
        return any(
            e[0] == cluster and e[1] == kind and e[2] == reason and e[3] == name for e in log
        )

    assert seen("demo-prod-eu", "opened", "CrashLoopBackOff", "checkout")
    assert ("demo-prod-eu", "updated", "CrashLoopBackOff", "checkout", 3) in log
    assert seen("demo-prod-eu", "resolved", "CrashLoopBackOff", "checkout")
    worker = "prod-eu-worker-6"
    assert seen("demo-prod-eu", "opened", "NodeNotReady", worker)
    assert seen("demo-prod-eu", "resolved", "NodeNotReady", worker)
    assert seen("demo-staging", "opened", "OOMKilled", "reports")
    assert seen("demo-edge-tokyo", "opened", "ImagePullBackOff", "cart")
    assert seen("demo-edge-tokyo", "resolved", "ImagePullBackOff", "cart")
    node = (
        hub.clusters["demo-prod-eu"].state.get("Node", "", worker)
        if "demo-prod-eu" in hub.clusters
        else None
    )
    assert node is None or isinstance(node, NodeRecord)


async def test_a_failing_source_is_reported_and_the_others_keep_running(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(clock=lambda: T0 + trio.current_time())

    async def broken(state: object, health: object) -> None:
        raise ValueError("unexpected answer")

    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        failing = hub.add_cluster("broken", "kubeconfig", broken)  # type: ignore[arg-type]
        demo = hub.watch_demo()
        await trio.sleep(5)
        assert failing.health.snapshot.state is ConnectionState.OFFLINE
        assert "unexpected answer" in (failing.health.snapshot.last_error or "")
        assert all(h.health.snapshot.state is ConnectionState.SYNCED for h in demo)
        nursery.cancel_scope.cancel()


async def test_a_crashing_deployment_reports_fewer_ready_replicas(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(clock=lambda: T0 + trio.current_time())
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        hub.watch_demo()
        await trio.sleep(90)  # after the prod script's crash loop began
        checkout = hub.clusters["demo-prod-eu"].state.get("Deployment", "shop", "checkout")
        assert isinstance(checkout, WorkloadRecord) and checkout.ready < checkout.desired
        await trio.sleep(120)  # healed
        checkout = hub.clusters["demo-prod-eu"].state.get("Deployment", "shop", "checkout")
        assert isinstance(checkout, WorkloadRecord) and checkout.ready == checkout.desired
        nursery.cancel_scope.cancel()


def test_each_demo_cluster_is_a_cluster_of_its_own() -> None:
    # History tells clusters apart by the kube-system namespace's UID; demo clusters that
    # shared objects' UIDs would pour into one history.
    clusters = [DemoCluster.build(spec, T0) for spec in demo_specs()]
    kube_system = {c.objects["Namespace"][("", "kube-system")]["metadata"]["uid"] for c in clusters}
    assert len(kube_system) == len(clusters) == 3
    for cluster in clusters:
        pods = cluster.objects["Pod"].values()
        owners = {r["uid"] for p in pods for r in p["metadata"].get("ownerReferences", ())}
        uids = {r["metadata"]["uid"] for kind in cluster.objects.values() for r in kind.values()}
        assert owners and owners <= uids  # references still point at their owners
