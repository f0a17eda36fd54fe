"""Raw Kubernetes JSON as the API server sends it, for unit tests of records and rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

_versions = itertools.count(1000)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metadata(name: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace}-{name}",
        "resourceVersion": str(next(_versions)),
        "creationTimestamp": iso(1_700_000_000),
        "managedFields": [{"manager": "kube-controller-manager", "fieldsV1": {"f:status": {}}}],
    }
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def container(
    name: str = "main",
    *,
    waiting: str | None = None,
    terminated: str | None = None,
    last: str | None = None,
    last_finished: float | None = None,
    restarts: int = 0,
    ready: bool = True,
) -> dict[str, Any]:
    if waiting:
        state: dict[str, Any] = {"waiting": {"reason": waiting, "message": f"{waiting} happened"}}
    elif terminated:
        state = {"terminated": {"reason": terminated, "exitCode": 137}}
    else:
        state = {"running": {"startedAt": iso(1_700_000_100)}}
    status: dict[str, Any] = {
        "name": name,
        "image": "registry.example/app:1.0",
        "ready": ready and not waiting and not terminated,
        "restartCount": restarts,
        "state": state,
    }
    if last:
        status["lastState"] = {
            "terminated": {
                "reason": last,
                "exitCode": 137,
                "finishedAt": iso(last_finished or 1_700_000_050),
            }
        }
    return status


def pod(
    name: str,
    namespace: str = "shop",
    *,
    owner: tuple[str, str] | None = ("ReplicaSet", "checkout-7d9f"),
    phase: str = "Running",
    ready: bool = True,
    ready_since: float = 1_700_000_100,
    containers: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    reason: str | None = None,
    scheduled: tuple[str, str] | None = None,
    node: str = "node-1",
) -> dict[str, Any]:
    extra: dict[str, Any] = {"labels": labels or {"app": "checkout"}}
    if owner:
        extra["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "controller": True,
                "uid": "x",
            }
        ]
    conditions = [
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "lastTransitionTime": iso(ready_since),
        },
    ]
    if scheduled:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": scheduled[0],
                "reason": scheduled[1],
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
                "lastTransitionTime": iso(ready_since),
            }
        )
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": containers if containers is not None else [container()],
        "podIP": "10.0.0.7",
        "hostIP": "192.168.1.10",
        "qosClass": "Burstable",
    }
    if reason:
        status["reason"] = reason
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata(name, namespace, **extra),
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "main",
                    "image": "registry.example/app:1.0",
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
        },
        "status": status,
    }


def replicaset(name: str, deployment: str, namespace: str = "shop") -> dict[str, Any]:
    return {
        "metadata": metadata(
            name,
            namespace,
            ownerReferences=[{"kind": "Deployment", "name": deployment, "controller": True}],
        ),
        "spec": {"replicas": 3},
        "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3},
    }


def node(
    name: str, *, ready: str = "True", pressure: dict[str, str] | None = None
) -> dict[str, Any]:
    conditions = [
        {
            "type": "Ready",
            "status": ready,
            "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
            "message": "kubelet is posting ready status"
            if ready == "True"
            else "container runtime is down",
            "lastHeartbeatTime": iso(1_700_000_500),
            "lastTransitionTime": iso(1_700_000_000),
        }
    ]
    for kind, status in (pressure or {}).items():
        conditions.append(
            {"type": kind, "status": status, "lastTransitionTime": iso(1_700_000_000)}
        )
    return {
        "metadata": metadata(
            name,
            labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": name},
        ),
        "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
            "conditions": conditions,
            "nodeInfo": {"kubeletVersion": "v1.36.3"},
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
        },
    }


def deployment(
    name: str,
    namespace: str = "shop",
    *,
    desired: int = 3,
    ready: int = 3,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": metadata(name, namespace, generation=2),
        "spec": {
            "replicas": desired,
            "template": {"spec": {"containers": [{"name": "main", "image": "app:1"}]}},
        },
        "status": {
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": desired,
            "observedGeneration": 2,
            "conditions": conditions or [],
        },
    }


def event(
    name: str,
    reason: str,
    *,
    count: int = 1,
    last: float,
    kind: str = "Pod",
    obj: str = "checkout-1",
    namespace: str = "shop",
    type: str = "Warning",
) -> dict[str, Any]:
    return {
        "metadata": metadata(name, namespace),
        "type": type,
        "reason": reason,
        "message": f"{reason}: details",
        "involvedObject": {"kind": kind, "name": obj, "namespace": namespace},
        "count": count,
        "firstTimestamp": iso(last - 60),
        "lastTimestamp": iso(last),
        "source": {"component": "kubelet"},
    }
