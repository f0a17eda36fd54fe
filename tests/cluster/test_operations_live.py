"""Operations on the real control plane (kube-controller-manager and kwok running), through
the one command path — by kubeconfig and through the agent — each audited once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent import i18n
from headless_agent.agent.client import AgentTarget
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.ops.commands import Command
from headless_agent.ops.console import run_line
from headless_agent.ops.runner import Operations, Safety
from headless_agent.state.records import NodeRecord, PodRecord, WorkloadRecord
from headless_agent.store import HistoryStore
from tests.agent.conftest import OPERATOR, VIEWER, serve_agent
from tests.cluster.engine_helpers import apply, kubectl, wait_for, wait_synced, watch_cluster
from tests.cluster.kube_objects import bare_pod, deployment, kwok_node, namespace
from tests.cluster.test_access import _user_kubeconfig
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

NS = "ops-a"


def _pods(handle: ClusterHandle, app: str, *, running: bool = True) -> list[PodRecord]:
    return [
        p
        for p in handle.state.records("Pod")
        if isinstance(p, PodRecord)
        and p.namespace == NS
        and ("app", app) in p.labels
        and (not running or (p.phase == "Running" and not p.deleting))
    ]


def _replicasets(handle: ClusterHandle, owner: str) -> list[WorkloadRecord]:
    return [
        r
        for r in handle.state.records("ReplicaSet")
        if isinstance(r, WorkloadRecord) and r.namespace == NS and r.owner_name == owner
    ]


async def _json(cluster: KwokCluster, *args: str) -> Any:
    return await trio.to_thread.run_sync(lambda: cluster.get(*args))


@pytest.fixture
async def ops_hub(
    kube_cluster: KwokCluster, tmp_path: Path, nursery: trio.Nursery
) -> tuple[Hub, ClusterHandle, Operations]:
    hub = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
    await nursery.start(hub.run)
    handle = watch_cluster(hub, kube_cluster)
    await apply(
        kube_cluster,
        namespace(NS),
        kwok_node("ops-node-a"),
        kwok_node("ops-node-b"),
        deployment("web", NS, node="ops-node-a", replicas=2),
    )
    await wait_synced(handle)
    await wait_for(lambda: len(_pods(handle, "web")) == 2, 90, "web's two pods running")
    return hub, handle, Operations(hub)


async def test_workload_operations_change_the_cluster_and_are_audited_once(
    ops_hub: tuple[Hub, ClusterHandle, Operations], kube_cluster: KwokCluster
) -> None:
    hub, handle, ops = ops_hub

    scale = Command("scale", "Deployment", NS, "web", {"replicas": 4})
    outcome = await ops.run(handle.name, scale)
    assert outcome.ok and outcome.message == f"Deployment {NS}/web scaled from 2 to 4 replicas"
    await wait_for(lambda: len(_pods(handle, "web")) == 4, 90, "four pods after scaling")
    # A retry of the same command (same key) does not run again.
    await kubectl(kube_cluster, "scale", "deployment/web", "-n", NS, "--replicas=3")
    again = await ops.run(handle.name, scale)
    assert again == outcome
    await wait_for(lambda: len(_pods(handle, "web")) == 3, 90, "three pods, as kubectl left it")

    first_rs = {r.name for r in _replicasets(handle, "web")}
    restart = await ops.run(handle.name, Command("rollout-restart", "Deployment", NS, "web"))
    assert restart.ok, restart.message
    await wait_for(
        lambda: {r.name for r in _replicasets(handle, "web")} - first_rs,
        60,
        "a new ReplicaSet from the rollout restart",
    )
    template = (await _json(kube_cluster, "deployment", "web", "-n", NS))["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]

    new_image = Command(
        "set-image", "Deployment", NS, "web", {"container": "main", "image": "nginx:1.28"}
    )
    assert (await ops.run(handle.name, new_image)).ok
    await wait_for(
        lambda: any("nginx:1.28" in r.images for r in _replicasets(handle, "web")),
        60,
        "a ReplicaSet with the new image",
    )
    back = await ops.run(handle.name, Command("rollback", "Deployment", NS, "web"))
    assert back.ok and "rolled back to revision" in back.message, back.message
    spec = (await _json(kube_cluster, "deployment", "web", "-n", NS))["spec"]["template"]
    assert spec["spec"]["containers"][0]["image"] == "nginx:1.27"

    missing = await ops.run(
        handle.name, Command("scale", "Deployment", NS, "nope", {"replicas": 1})
    )
    assert not missing.ok and missing.category == "not-found"
    assert missing.message.startswith("it no longer exists")
    bad = await ops.run(handle.name, Command("scale", "Deployment", NS, "web", {"replicas": -1}))
    assert not bad.ok and bad.status == "refused" and "whole number" in bad.message

    store = hub.history
    assert store is not None
    await trio.to_thread.run_sync(store.flush)
    entries = store.audit_log(0, 2e10, cluster=handle.name)
    assert [e.action for e in entries] == [
        "scale",
        "rollout-restart",
        "set-image",
        "rollback",
        "scale",
        "scale",
    ]
    first = entries[0]
    assert first.outcome == "succeeded" and first.request_key == scale.key
    assert first.actor == ops.actor and first.via == f"context {handle.name}"
    assert first.identity  # the SelfSubjectReview's user name
    assert first.parameters == {"replicas": 4} and first.duration is not None
    assert entries[-2].outcome == "failed" and "no longer exists" in entries[-2].error
    assert entries[-1].outcome == "refused"
    assert store.verify_audit().ok


async def test_logs_come_back_whole_tailed_and_in_words_when_missing(
    ops_hub: tuple[Hub, ClusterHandle, Operations], kube_cluster: KwokCluster, tmp_path: Path
) -> None:
    _, handle, ops = ops_hub
    log_file = tmp_path / "web.log"
    log_file.write_text(
        "".join(f"2026-11-27T00:00:0{i}.000000000Z stdout F request {i} served\n" for i in range(5))
    )
    await apply(
        kube_cluster,
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "ops-web"},
            "spec": {
                "selector": {"matchNamespaces": [NS]},
                "logs": [{"containers": ["main"], "logsFile": str(log_file)}],
            },
        },
    )
    pod = _pods(handle, "web")[0].name

    async def fetched(**params: object) -> str:
        outcome = await ops.run(handle.name, Command("logs", "Pod", NS, pod, params))
        assert outcome.ok, outcome.message
        return str(outcome.data["text"])

    for _ in range(60):  # kwok picks up the ClusterLogs object within a few seconds
        first = await ops.run(handle.name, Command("logs", "Pod", NS, pod))
        if first.ok and "request 4 served" in first.data["text"]:
            break
        await trio.sleep(0.5)
    text = await fetched()
    assert text.splitlines() == [f"request {i} served" for i in range(5)]
    assert (await fetched(tail=2)).splitlines() == ["request 3 served", "request 4 served"]
    wrong = await ops.run(handle.name, Command("logs", "Pod", NS, pod, {"container": "sidecar"}))
    assert not wrong.ok and "sidecar" in wrong.message


async def test_cordon_and_drain_honour_disruption_budgets(
    ops_hub: tuple[Hub, ClusterHandle, Operations], kube_cluster: KwokCluster
) -> None:
    _, handle, ops = ops_hub

    def unschedulable(node: str) -> bool:
        record = handle.state.get("Node", "", node)
        return isinstance(record, NodeRecord) and record.unschedulable

    assert (await ops.run(handle.name, Command("cordon", "Node", "", "ops-node-b"))).ok
    await wait_for(lambda: unschedulable("ops-node-b"), 20, "cordoned")
    assert (await ops.run(handle.name, Command("uncordon", "Node", "", "ops-node-b"))).ok
    await wait_for(lambda: not unschedulable("ops-node-b"), 20, "uncordoned")

    await apply(
        kube_cluster,
        deployment("api", NS, node="ops-node-b", replicas=2),
        bare_pod("solo", NS, "ops-node-b"),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "api", "namespace": NS},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}},
        },
    )
    await wait_for(lambda: len(_pods(handle, "api")) == 2, 90, "api's pods running")
    await wait_for(lambda: _pods(handle, "solo"), 90, "solo running")
    # Let the disruption controller see the budget's healthy pods.
    await wait_for(
        lambda: (
            kube_cluster.get("pdb", "api", "-n", NS).get("status", {}).get("currentHealthy") == 2
        ),
        60,
        "the budget counted",
    )

    drained = await ops.run(handle.name, Command("drain", "Node", "", "ops-node-b", {"timeout": 6}))
    assert not drained.ok and drained.category == "drain-blocked"
    assert f"{NS}/solo" in drained.data["evicted"]
    assert set(drained.data["blocked"]) == {f"{NS}/{p.name}" for p in _pods(handle, "api")}
    assert "could not be evicted" in drained.message and "disruption budget" in drained.message
    await wait_for(lambda: not _pods(handle, "solo", running=False), 60, "solo evicted")
    assert unschedulable("ops-node-b")


async def test_refusals_and_the_api_servers_reasons_in_words(
    ops_hub: tuple[Hub, ClusterHandle, Operations],
    kube_cluster: KwokCluster,
    tmp_path: Path,
    nursery: trio.Nursery,
) -> None:
    hub, handle, ops = ops_hub
    protected = Command("scale", "Deployment", "kube-system", "coredns", {"replicas": 1})
    refused = await ops.run(handle.name, protected)
    assert refused.status == "refused" and "protected namespace" in refused.message
    read_only = Operations(hub, safety=Safety(read_only=True))
    outcome = await read_only.run(handle.name, Command("cordon", "Node", "", "ops-node-a"))
    assert outcome.status == "refused" and "read-only" in outcome.message

    # A user who may only view: the API server's own reason, in words.
    await apply(
        kube_cluster,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "looker", "namespace": NS},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "looker", "namespace": NS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "looker", "namespace": NS}],
        },
    )
    token = (await kubectl(kube_cluster, "create", "token", "looker", "-n", NS)).strip()
    path = _user_kubeconfig(kube_cluster, tmp_path / "looker.yaml", {"token": token}, namespace=NS)
    kubeconfigs = load_kubeconfigs([path])
    looker_hub = Hub()
    await nursery.start(looker_hub.run)
    looker = looker_hub.watch_context(KubeTarget(kubeconfigs, "tester@test"))
    denied = await Operations(looker_hub).run(
        looker.name, Command("scale", "Deployment", NS, "web", {"replicas": 5})
    )
    assert not denied.ok and denied.category == "forbidden"
    assert denied.message.startswith("the cluster does not allow this")
    assert "looker" in denied.message and "deployments" in denied.message
    assert denied.identity == f"system:serviceaccount:{NS}:looker"


async def test_the_same_operations_through_the_agent(
    ops_hub: tuple[Hub, ClusterHandle, Operations],
    kube_cluster: KwokCluster,
    nursery: trio.Nursery,
    tmp_path: Path,
) -> None:
    hub, handle, _ = ops_hub
    agent = await serve_agent(nursery, hub, handle, operations=True)
    remote_hub = Hub(history=HistoryStore.open(tmp_path / "carol.sqlite3", start=False))
    await nursery.start(remote_hub.run)
    target = AgentTarget(agent.url, OPERATOR, sample_interval=0.5)
    remote = remote_hub.watch_agent("via-agent", target)
    await wait_for(lambda: remote.health.snapshot.state.value == "synced", 30, "via agent")
    ops = Operations(remote_hub, actor="carol")
    scale = Command("scale", "Deployment", NS, "web", {"replicas": 1})
    outcome = await ops.run("via-agent", scale)
    assert outcome.ok and "to 1 replica" in outcome.message, outcome.message
    # Said through the agent as a catalog message too: this hub renders it in its language.
    assert outcome.message_id == "operation.scaled" and outcome.params["count"] == 1
    assert outcome.text("ja") == i18n.message("ja", "operation.scaled", **outcome.params)
    await wait_for(lambda: len(_pods(remote, "web")) == 1, 90, "one pod, seen through the agent")
    assert outcome.identity  # the agent's identity on its API server
    # The agent remembers: a retry (a lost answer) does not scale twice.
    assert await ops.run("via-agent", scale) == outcome
    [entry] = [e for _, e in agent.relay.audit if e.request_key == scale.key]
    assert entry.actor.startswith("carol (token ") and entry.outcome == "succeeded"

    await apply(kube_cluster, kwok_node("ops-node-c"))  # a node of its own to drain
    shown = await ops.run("via-agent", Command("yaml", "Deployment", NS, "web"))
    assert shown.ok and "kind: Deployment" in shown.data["yaml"]
    labelled = shown.data["yaml"].replace("app: web\n", "app: web\n    via: agent\n", 1)
    commands = [
        Command("cordon", "Node", "", "ops-node-a"),
        Command("uncordon", "Node", "", "ops-node-a"),
        Command("rollout-restart", "Deployment", NS, "web"),
        Command("set-image", "Deployment", NS, "web", {"container": "main", "image": "nginx:1.29"}),
        Command("rollback", "Deployment", NS, "web"),
        Command("describe", "Deployment", NS, "web"),
        Command("apply-dry-run", "Deployment", NS, "web", {"yaml": labelled}),
        Command("apply", "Deployment", NS, "web", {"yaml": labelled}),
        Command("drain", "Node", "", "ops-node-c", {"timeout": 5}),
        Command("uncordon", "Node", "", "ops-node-c"),
    ]
    for command in commands:
        result = await ops.run("via-agent", command)
        assert result.ok, (command.action, result.message)
    live = await _json(kube_cluster, "deployment", "web", "-n", NS)
    assert live["metadata"]["labels"]["via"] == "agent"
    actions = ["scale"] + [c.action for c in [Command("yaml", "Deployment", NS, "web"), *commands]]
    for _ in range(10):
        # The rollouts above may still be replacing pods: one picked a moment ago can be
        # gone already (the server says so, and the attempt is audited like any other).
        pod = _pods(remote, "web")[0].name
        deleted = await ops.run("via-agent", Command("delete-pod", "Pod", NS, pod))
        actions.append("delete-pod")
        if deleted.ok or deleted.message_id != "error.not_found":
            break
        await trio.sleep(1)
    assert deleted.ok and "deleted" in deleted.message

    # Another hub (a colleague's, viewer token) sees carol's commands in its own audit.
    other_hub = Hub(history=HistoryStore.open(tmp_path / "dave.sqlite3", start=False))
    await nursery.start(other_hub.run)
    other_hub.watch_agent("viewer", AgentTarget(agent.url, VIEWER, sample_interval=0.5))
    other_store = other_hub.history
    assert other_store is not None

    def seen_by_dave() -> list[str]:
        other_store.flush()
        return [e.action for e in other_store.audit_log(0, 2e10) if e.actor.startswith("carol")]

    await wait_for(lambda: seen_by_dave() == actions, 30, "carol's commands in dave's audit")
    # Carol's own hub keeps one entry per command, though the agent's copy arrives too.
    carol_store = remote_hub.history
    assert carol_store is not None
    await trio.sleep(1.5)
    await trio.to_thread.run_sync(carol_store.flush)
    keys = [e.request_key for e in carol_store.audit_log(0, 2e10)]
    assert len(keys) == len(set(keys)) == len(actions) and carol_store.verify_audit().ok

    refused = await Operations(other_hub).run("viewer", Command("cordon", "Node", "", "ops-node-a"))
    assert not refused.ok and "a viewer token may not do this" in refused.message


async def test_edited_yaml_is_dry_run_with_a_diff_then_applied(
    ops_hub: tuple[Hub, ClusterHandle, Operations], kube_cluster: KwokCluster
) -> None:
    _, handle, ops = ops_hub
    shown = await ops.run(handle.name, Command("yaml", "Deployment", NS, "web"))
    assert shown.ok and "managedFields" not in shown.data["yaml"]
    edited = shown.data["yaml"].replace("app: web\n", "app: web\n    tier: front\n", 1)
    assert edited != shown.data["yaml"]

    dry = await ops.run(
        handle.name, Command("apply-dry-run", "Deployment", NS, "web", {"yaml": edited})
    )
    assert dry.ok, dry.message
    assert "+    tier: front" in dry.data["diff"]
    live = await _json(kube_cluster, "deployment", "web", "-n", NS)
    assert "tier" not in live["metadata"]["labels"]  # a dry run changes nothing

    applied = await ops.run(
        handle.name, Command("apply", "Deployment", NS, "web", {"yaml": edited})
    )
    assert applied.ok, applied.message
    live = await _json(kube_cluster, "deployment", "web", "-n", NS)
    assert live["metadata"]["labels"]["tier"] == "front"

    renamed = edited.replace("name: web\n", "name: web-copy\n", 1)
    refused = await ops.run(
        handle.name, Command("apply", "Deployment", NS, "web", {"yaml": renamed})
    )
    assert refused.status == "refused" and "not Deployment" in refused.message
    broken = edited.replace("replicas: 2", "replicas: many", 1)
    invalid = await ops.run(
        handle.name, Command("apply-dry-run", "Deployment", NS, "web", {"yaml": broken})
    )
    assert not invalid.ok and invalid.status == "failed", invalid


async def test_a_command_runs_in_a_container(
    ops_hub: tuple[Hub, ClusterHandle, Operations], kube_cluster: KwokCluster, tmp_path: Path
) -> None:
    _, handle, ops = ops_hub
    # kwok runs a pod's exec as a local process in a folder we choose.
    (tmp_path / "data.txt").write_text("payload\n")
    await apply(
        kube_cluster,
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "ops-exec"},
            "spec": {
                "selector": {"matchNamespaces": [NS]},
                "execs": [{"containers": ["main"], "local": {"workDir": str(tmp_path)}}],
            },
        },
    )
    pod = _pods(handle, "web")[0].name
    script = "cat data.txt; echo oops >&2; exit 3"
    command = Command("exec", "Pod", NS, pod, {"command": ["sh", "-c", script]})
    for _ in range(60):  # kwok picks up the ClusterExec object within a few seconds
        outcome = await ops.run(handle.name, replace(command, key=uuid.uuid4().hex))
        if outcome.ok:
            break
        await trio.sleep(0.5)
    assert outcome.ok, outcome.message
    assert outcome.data["stdout"] == "payload\n" and outcome.data["stderr"] == "oops\n"
    assert outcome.data["exit_code"] == 3 and "exited with 3" in outcome.message
    ok, text = await run_line(ops, handle.name, f"exec {pod} -n {NS} -- cat data.txt")
    assert ok and text == "payload"
