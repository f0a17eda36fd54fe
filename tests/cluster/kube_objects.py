"""Manifests the cluster tests create: kwok-managed nodes and small workloads."""

from __future__ import annotations

from typing import Any

KWOK_NODE_LABEL = {"type": "kwok"}


def kwok_node(
    name: str, *, cpu: str = "32", memory: str = "256Gi", pods: str = "110"
) -> dict[str, Any]:
    """A Node that kwok-controller manages (heartbeats, pod lifecycle) like a kubelet would."""
    capacity = {"cpu": cpu, "memory": memory, "pods": pods}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                **KWOK_NODE_LABEL,
            },
        },
        "spec": {},
        "status": {
            "allocatable": capacity,
            "capacity": capacity,
        },
    }


def deployment(
    name: str,
    namespace: str,
    *,
    node: str,
    replicas: int = 1,
    image: str = "nginx:1.27",
) -> dict[str, Any]:
    """A Deployment whose pods all go to one kwok node (tests share the cluster)."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {**KWOK_NODE_LABEL, "kubernetes.io/hostname": node},
                    "containers": [
                        {
                            "name": "main",
                            "image": image,
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ],
                },
            },
        },
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def bare_pod(name: str, namespace: str, node: str, *, image: str = "nginx:1.27") -> dict[str, Any]:
    """A pod with no controller, bound straight to a node."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": image}]},
    }
