"""Anomalies that come from the control plane's own behaviour, not just patched statuses:
the scheduler refusing a pod, the deployment controller giving up on a rollout, the
EndpointSlice controller dropping a not-ready pod, a claim that no class can bind."""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio

from headless_agent.detect.rules import DetectionSettings
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    kubectl,
    patch_status,
    pod_status,
    start_hub,
    wait_for,
)
from tests.cluster.kube_objects import bare_pod, deployment, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

QUICK = DetectionSettings(
    unschedulable_grace=1,
    not_ready_grace=1,
    workload_unavailable_grace=2,
    service_no_endpoints_grace=1,
    pvc_pending_grace=1,
)


async def test_unschedulable_pod_and_stuck_rollout(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    _, recorder = await start_hub(nursery, kube_cluster, settings=QUICK)
    huge = deployment("huge", "rules-a", node="rules-node-a", replicas=1)
    huge["spec"]["progressDeadlineSeconds"] = 3
    huge["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1000"
    await apply(kube_cluster, namespace("rules-a"), kwok_node("rules-node-a"), huge)
    await wait_for(
        lambda: "opened" in recorder.of("Unschedulable", "huge"), 30, "unschedulable pod"
    )
    await wait_for(
        lambda: "opened" in recorder.of("ProgressDeadlineExceeded", "huge"), 60, "stuck rollout"
    )
    await wait_for(
        lambda: "opened" in recorder.of("Unavailable", "huge"), 30, "unavailable deployment"
    )
    await kubectl(kube_cluster, "scale", "deployment/huge", "-n", "rules-a", "--replicas=0")
    await wait_for(
        lambda: recorder.of("Unschedulable", "huge")[-1:] == ["resolved"], 60, "pod gone"
    )
    await wait_for(
        lambda: recorder.of("Unavailable", "huge")[-1:] == ["resolved"], 60, "nothing unavailable"
    )
    nursery.cancel_scope.cancel()


async def test_service_whose_pods_are_not_ready(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    handle, recorder = await start_hub(nursery, kube_cluster, settings=QUICK)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "rules-b"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    await apply(
        kube_cluster,
        namespace("rules-b"),
        kwok_node("rules-node-b"),
        deployment("web", "rules-b", node="rules-node-b"),
        service,
    )

    def running_pod() -> Any:
        return next(
            (
                p
                for p in handle.state.records("Pod")
                if p.namespace == "rules-b" and getattr(p, "ready", False)
            ),
            None,
        )

    pod = await wait_for(running_pod, 60, "web pod ready")
    await trio.sleep(1)
    assert recorder.of("NoReadyEndpoints") == []
    not_ready = pod_status([container_status(ready=False)], ready=False)
    await patch_status(kube_cluster, "pod", pod.name, "rules-b", not_ready)
    await wait_for(
        lambda: "opened" in recorder.of("NoReadyEndpoints", "web"),
        30,
        "service without ready endpoints",
    )
    assert "opened" in recorder.of("NotReady"), "the pod itself is reported too"
    await patch_status(
        kube_cluster, "pod", pod.name, "rules-b", pod_status([container_status()], ready=True)
    )
    await wait_for(
        lambda: recorder.of("NoReadyEndpoints", "web")[-1:] == ["resolved"],
        30,
        "endpoints ready again",
    )
    nursery.cancel_scope.cancel()


async def test_pending_claim_evicted_pod_and_warning_event(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    _, recorder = await start_hub(nursery, kube_cluster, settings=QUICK)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "rules-c"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "no-such-class",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    await apply(
        kube_cluster,
        namespace("rules-c"),
        kwok_node("rules-node-c"),
        claim,
        bare_pod("victim", "rules-c", "rules-node-c"),
    )
    await wait_for(lambda: "opened" in recorder.of("PvcPending", "data"), 30, "pending claim")

    await patch_status(
        kube_cluster,
        "pod",
        "victim",
        "rules-c",
        {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory.",
        },
    )
    await wait_for(lambda: "opened" in recorder.of("Evicted", "victim"), 30, "evicted pod")

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "victim.mount", "namespace": "rules-c"},
        "involvedObject": {"kind": "Pod", "name": "victim", "namespace": "rules-c"},
        "reason": "FailedMount",
        "message": 'MountVolume.SetUp failed for volume "config": configmap "app" not found',
        "type": "Warning",
        "count": 4,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet"},
    }
    await apply(kube_cluster, event)
    await wait_for(lambda: "opened" in recorder.of("FailedMount", "victim"), 30, "warning event")

    await kubectl(kube_cluster, "delete", "pvc/data", "pod/victim", "-n", "rules-c", "--wait=false")
    await wait_for(
        lambda: recorder.of("PvcPending", "data")[-1:] == ["resolved"], 30, "claim deleted"
    )
    await wait_for(
        lambda: recorder.of("Evicted", "victim")[-1:] == ["resolved"], 60, "evicted pod removed"
    )
    nursery.cancel_scope.cancel()
