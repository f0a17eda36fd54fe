"""Alerts end to end on the real control plane: a Deployment whose 20 pods crash-loop is
one message per channel, and its recovery one resolve message; a silence keeps what it
matches quiet; the pods of a node that is down wait for the node."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import AlertConfig, Channel, Grouping, Rule
from headless_agent.detect.anomaly import Severity
from headless_agent.hub import Hub
from headless_agent.state.records import PodRecord
from headless_agent.store import HistoryStore, Silence
from tests.alerts.receivers import HttpReceiver, SmtpServer, wait_until
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    kubectl,
    patch_status,
    pod_status,
    wait_synced,
    watch_cluster,
)
from tests.cluster.kube_objects import bare_pod, deployment, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

NS = "alerts-a"


async def test_twenty_crashing_pods_are_one_message_and_their_recovery_another(
    kube_cluster: KwokCluster, nursery: trio.Nursery, tmp_path: Path
) -> None:
    webhook = HttpReceiver()
    await webhook.start(nursery)
    with SmtpServer() as smtp:
        channels = {
            "hook": Channel("hook", "webhook", "en", {"url": f"{webhook.url}/in"}),
            "mail": Channel(
                "mail",
                "smtp",
                "en",
                {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "plain",
                    "sender": "atlhyper@example.com",
                    "to": ["oncall@example.com"],
                },
            ),
        }
        # Only this test's namespace: the control plane is shared by every test.
        rule = Rule(
            "crashes", ("hook", "mail"), Severity.CRITICAL, frozenset({"CrashLoopBackOff"}),
            namespaces=frozenset({NS}),
        )  # fmt: skip
        config = AlertConfig(
            channels, (rule,), Grouping(group_wait=15, group_interval=5, repeat_interval=3600)
        )
        hub = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
        Alerting(config, hub.history, poll=0.5).attach(hub)  # type: ignore[arg-type]
        await nursery.start(hub.run)
        handle = watch_cluster(hub, kube_cluster)
        await apply(
            kube_cluster,
            namespace(NS),
            kwok_node("alerts-node"),
            deployment("shop", NS, node="alerts-node", replicas=20),
        )
        await wait_synced(handle)

        def pods() -> list[PodRecord]:
            return [
                p
                for p in handle.state.records("Pod")
                if isinstance(p, PodRecord) and p.namespace == NS and p.phase == "Running"
            ]

        await wait_until(lambda: len(pods()) == 20, 120, "twenty running pods")
        crashing = pod_status(
            [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=5)],
            ready=False,
        )
        async with trio.open_nursery() as patches:
            for pod in pods():
                patches.start_soon(patch_status, kube_cluster, "pod", pod.name, NS, crashing)

        def messages() -> list[dict[str, object]]:
            return [json.loads(r.body) for r in webhook.received]

        await wait_until(lambda: messages(), 60, "the first message")
        await trio.sleep(8)  # an update would come group_interval after the first
        [first] = messages()
        assert first["status"] == "firing" and "20 pods" in str(first["text"])
        [mail] = smtp.mailbox.messages
        assert mail["Message-ID"] == f"<{first['id']}@atlhyper>"

        await kubectl(kube_cluster, "delete", "deployment", "shop", "-n", NS)
        await wait_until(lambda: len(messages()) == 2, 60, "the resolve message")
        resolved = messages()[1]
        assert resolved["status"] == "resolved" and resolved["group"] == first["group"]
        await wait_until(lambda: len(smtp.mailbox.messages) == 2, 30, "the resolve mail")
        await trio.sleep(3)
        assert len(messages()) == 2
    await kubectl(kube_cluster, "delete", "namespace", NS, "--wait=false")
    nursery.cancel_scope.cancel()


async def test_a_silence_keeps_what_it_matches_quiet(
    kube_cluster: KwokCluster, nursery: trio.Nursery, tmp_path: Path
) -> None:
    webhook = HttpReceiver()
    await webhook.start(nursery)
    channels = {"hook": Channel("hook", "webhook", "en", {"url": f"{webhook.url}/in"})}
    rule = Rule(
        "critical", ("hook",), Severity.CRITICAL,
        namespaces=frozenset({"alerts-quiet", "alerts-loud"}),
    )  # fmt: skip
    config = AlertConfig(channels, (rule,), Grouping(group_wait=2, group_interval=5))
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    now = time.time()
    store.add_silence(Silence(now, now + 3600, namespace="alerts-quiet", comment="deploy"))
    hub = Hub(history=store)
    Alerting(config, store, poll=0.5).attach(hub)
    await nursery.start(hub.run)
    handle = watch_cluster(hub, kube_cluster)
    await apply(
        kube_cluster,
        namespace("alerts-quiet"),
        namespace("alerts-loud"),
        kwok_node("alerts-up"),
        bare_pod("muted", "alerts-quiet", "alerts-up"),
        bare_pod("heard", "alerts-loud", "alerts-up"),
    )
    await wait_synced(handle)

    def running(name: str, ns: str) -> bool:
        pod = handle.state.get("Pod", ns, name)
        return isinstance(pod, PodRecord) and pod.phase == "Running"

    for name, ns in (("muted", "alerts-quiet"), ("heard", "alerts-loud")):
        await wait_until(lambda name=name, ns=ns: running(name, ns), 60, f"{name} running")

    def named() -> set[str]:
        return {str(a["name"]) for r in webhook.received for a in json.loads(r.body)["alerts"]}

    crashing = pod_status(
        [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=5)],
        ready=False,
    )
    for name, ns in (("muted", "alerts-quiet"), ("heard", "alerts-loud")):
        await patch_status(kube_cluster, "pod", name, ns, crashing)
    await wait_until(lambda: "heard" in named(), 30, "the pod no silence matches")
    await trio.sleep(4)  # two more group waits: the silenced one stays quiet
    assert named() == {"heard"}
    assert [a.key.name for a in handle.detector.open_anomalies() if a.key.name == "muted"]
    await kubectl(
        kube_cluster, "delete", "namespace", "alerts-quiet", "alerts-loud", "--wait=false"
    )
    nursery.cancel_scope.cancel()


async def test_pods_on_a_node_that_is_down_wait_for_the_node(
    kube_cluster: KwokCluster, nursery: trio.Nursery, tmp_path: Path
) -> None:
    webhook = HttpReceiver()
    await webhook.start(nursery)
    channels = {"hook": Channel("hook", "webhook", "en", {"url": f"{webhook.url}/in"})}
    pods = Rule("pods", ("hook",), Severity.CRITICAL, namespaces=frozenset({"alerts-inhibit"}))
    nodes = Rule("nodes", ("hook",), Severity.CRITICAL, frozenset({"NodeNotReady"}))
    config = AlertConfig(channels, (pods, nodes), Grouping(group_wait=2, group_interval=5))
    hub = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
    Alerting(config, hub.history, poll=0.5).attach(hub)  # type: ignore[arg-type]
    await nursery.start(hub.run)
    handle = watch_cluster(hub, kube_cluster)
    # Without kwok's annotation nothing heartbeats the node: its Ready condition is ours.
    down = kwok_node("alerts-down")
    del down["metadata"]["annotations"]["kwok.x-k8s.io/node"]
    await apply(
        kube_cluster,
        namespace("alerts-inhibit"),
        down,
        kwok_node("alerts-fine"),
        bare_pod("stranded", "alerts-inhibit", "alerts-down"),
        bare_pod("loud", "alerts-inhibit", "alerts-fine"),
    )
    await wait_synced(handle)

    def ready(status: str) -> dict[str, object]:
        condition = {"type": "Ready", "status": status, "reason": "Test", "message": "test"}
        return {"conditions": [condition]}

    def alerted() -> list[tuple[str, str, str]]:
        return [
            (str(body["status"]), str(a["reason"]), str(a["name"]))
            for body in (json.loads(r.body) for r in webhook.received)
            for a in body["alerts"] or body["resolved"]
        ]

    await patch_status(kube_cluster, "node", "alerts-down", None, ready("False"))
    await wait_until(
        lambda: any(a.key.reason == "NodeNotReady" for a in handle.detector.open_anomalies()),
        30,
        "the node's anomaly",
    )
    crashing = pod_status(
        [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=5)],
        ready=False,
    )
    for name in ("stranded", "loud"):
        await patch_status(kube_cluster, "pod", name, "alerts-inhibit", crashing)
    await wait_until(
        lambda: (
            {("firing", "NodeNotReady", "alerts-down"), ("firing", "CrashLoopBackOff", "loud")}
            <= set(alerted())
        ),
        30,
        "the node's alert and the pod on the healthy node",
    )
    await trio.sleep(5)  # more than two group waits: the stranded pod's alert waits
    assert not [a for a in alerted() if a[2] == "stranded"]
    assert any(a.key.name == "stranded" for a in handle.detector.open_anomalies())

    # The node is back: its resolve goes out, and the pod's own problem is heard now.
    await patch_status(kube_cluster, "node", "alerts-down", None, ready("True"))
    await wait_until(
        lambda: ("resolved", "NodeNotReady", "alerts-down") in alerted(), 30, "the node's resolve"
    )
    await wait_until(
        lambda: ("firing", "CrashLoopBackOff", "stranded") in alerted(),
        40,
        "the stranded pod's alert once its node is up",
    )
    await kubectl(kube_cluster, "delete", "namespace", "alerts-inhibit", "--wait=false")
    await kubectl(kube_cluster, "delete", "node", "alerts-down", "alerts-fine", "--wait=false")
    nursery.cancel_scope.cancel()
