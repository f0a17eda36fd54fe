"""Raw Kubernetes JSON for the demo fleet, shaped as an API server would send it.

Everything after the demo source — ClusterState, detection, history, views — is the real
code, so these objects carry the same fields (and the same oddities: ownerReferences,
conditions with transition times, EndpointSlices labelled with their service) as real ones.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from typing import Any

Raw = dict[str, Any]
_versions = itertools.count(1)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_version() -> str:
    return str(next(_versions))


def uid(*parts: str) -> str:
    digest = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def short_hash(*parts: str, length: int = 5) -> str:
    """Lowercase hex, like the suffixes Kubernetes gives ReplicaSets and pods."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]


def meta(kind: str, name: str, namespace: str, created: float, **extra: Any) -> Raw:
    metadata: Raw = {
        "name": name,
        "uid": uid(kind, namespace, name),
        "resourceVersion": next_version(),
        "creationTimestamp": iso(created),
    }
    if namespace:
        metadata["namespace"] = namespace
    metadata.update(extra)
    return metadata


def owner(kind: str, name: str, namespace: str) -> list[Raw]:
    api = {"ReplicaSet": "apps/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1"}.get(kind, "")
    api = api or {"DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "v1")
    return [
        {
            "apiVersion": api,
            "kind": kind,
            "name": name,
            "uid": uid(kind, namespace, name),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def namespace(name: str, created: float) -> Raw:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(
            "Namespace", name, "", created, labels={"kubernetes.io/metadata.name": name}
        ),
        "status": {"phase": "Active"},
    }


def node_conditions(ready: str, since: float, heartbeat: float) -> list[Raw]:
    ready_reason = {"True": "KubeletReady", "False": "KubeletNotReady"}.get(
        ready, "NodeStatusUnknown"
    )
    ready_message = {
        "True": "kubelet is posting ready status",
        "False": "container runtime network not ready: cni plugin not initialized",
    }.get(ready, "Kubelet stopped posting node status.")
    conditions = []
    for kind, message in (
        ("MemoryPressure", "kubelet has sufficient memory available"),
        ("DiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "kubelet has sufficient PID available"),
    ):
        status = "Unknown" if ready == "Unknown" else "False"
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": f"KubeletHas{'No' if kind == 'DiskPressure' else 'Sufficient'}"
                f"{kind[:-8]}",
                "message": message,
                "lastHeartbeatTime": iso(heartbeat),
                "lastTransitionTime": iso(since),
            }
        )
    conditions.append(
        {
            "type": "Ready",
            "status": ready,
            "reason": ready_reason,
            "message": ready_message,
            "lastHeartbeatTime": iso(heartbeat),
            "lastTransitionTime": iso(since),
        }
    )
    return conditions


def node(
    name: str, *, role: str, cpu: int, memory_gib: int, ip: str, created: float, zone: str
) -> Raw:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone,
        f"node-role.kubernetes.io/{role}": "",
    }
    taints = (
        [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        if role == "control-plane"
        else []
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta("Node", name, "", created, labels=labels),
        "spec": {"taints": taints} if taints else {},
        "status": {
            "capacity": {"cpu": str(cpu), "memory": f"{memory_gib}Gi", "pods": "110"},
            "allocatable": {
                "cpu": f"{cpu * 1000 - 200}m",
                "memory": f"{memory_gib * 1024 - 512}Mi",
                "pods": "110",
            },
            "conditions": node_conditions("True", created, created),
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.36.3",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.12.41-amd64",
                "architecture": "amd64",
                "operatingSystem": "linux",
            },
        },
    }


def container_spec(name: str, image: str, cpu_m: int, memory_mi: int) -> Raw:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": f"{cpu_m}m", "memory": f"{memory_mi}Mi"},
            "limits": {"memory": f"{memory_mi * 2}Mi"},
        },
    }


def running_container(name: str, image: str, started: float, restarts: int = 0) -> Raw:
    return {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{uid(image)[:32]}",
        "containerID": f"containerd://{uid(name, str(started))}",
        "ready": True,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": iso(started)}},
    }


def pod(
    name: str,
    namespace: str,
    *,
    labels: dict[str, str],
    owner_kind: str,
    owner_name: str,
    node_name: str,
    ip: str,
    host_ip: str,
    containers: list[Raw],
    created: float,
) -> Raw:
    statuses = [running_container(c["name"], c["image"], created + 5) for c in containers]
    conditions = [
        {"type": kind, "status": "True", "lastTransitionTime": iso(created + offset)}
        for kind, offset in (
            ("PodScheduled", 0),
            ("Initialized", 2),
            ("ContainersReady", 8),
            ("Ready", 8),
        )
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            "Pod",
            name,
            namespace,
            created,
            labels=labels,
            ownerReferences=owner(owner_kind, owner_name, namespace) if owner_kind else [],
        ),
        "spec": {"nodeName": node_name, "containers": containers, "restartPolicy": "Always"},
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": host_ip,
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": iso(created),
            "qosClass": "Burstable",
            "containerStatuses": statuses,
        },
    }


def workload(
    kind: str,
    name: str,
    namespace: str,
    *,
    replicas: int,
    labels: dict[str, str],
    containers: list[Raw],
    created: float,
    owner_kind: str = "",
    owner_name: str = "",
) -> Raw:
    metadata = meta(kind, name, namespace, created, labels=labels, generation=1)
    if owner_kind:
        metadata["ownerReferences"] = owner(owner_kind, owner_name, namespace)
    spec: Raw = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
    }
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    status: Raw
    if kind == "DaemonSet":
        status = {
            "desiredNumberScheduled": replicas,
            "currentNumberScheduled": replicas,
            "numberReady": replicas,
            "numberAvailable": replicas,
            "updatedNumberScheduled": replicas,
            "observedGeneration": 1,
        }
    else:
        status = {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
            "observedGeneration": 1,
        }
    if kind == "Deployment":
        status["conditions"] = [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastTransitionTime": iso(created + 10),
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{name}" has successfully progressed.',
                "lastTransitionTime": iso(created + 10),
            },
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def service(name: str, namespace: str, selector: dict[str, str], ip: str, created: float) -> Raw:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("Service", name, namespace, created),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def endpoint_slice(service_name: str, namespace: str, pods: list[Raw], created: float) -> Raw:
    endpoints = []
    for item in pods:
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in item["status"]["conditions"]
        )
        endpoints.append(
            {
                "addresses": [item["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": item["spec"]["nodeName"],
                "targetRef": {
                    "kind": "Pod",
                    "name": item["metadata"]["name"],
                    "namespace": namespace,
                },
            }
        )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta(
            "EndpointSlice",
            f"{service_name}-{uid(service_name)[:5]}",
            namespace,
            created,
            labels={"kubernetes.io/service-name": service_name},
        ),
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def ingress(
    name: str, namespace: str, host: str, paths: list[tuple[str, str]], created: float
) -> Raw:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta("Ingress", name, namespace, created),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": svc, "port": {"number": 80}}},
                            }
                            for path, svc in paths
                        ]
                    },
                }
            ],
        },
    }


def pvc(name: str, namespace: str, size_gi: int, created: float, *, bound: bool = True) -> Raw:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("PersistentVolumeClaim", name, namespace, created),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "ssd",
            "resources": {"requests": {"storage": f"{size_gi}Gi"}},
            "volumeName": f"pvc-{uid(name)[:18]}" if bound else "",
        },
        "status": {"phase": "Bound", "capacity": {"storage": f"{size_gi}Gi"}}
        if bound
        else {"phase": "Pending"},
    }


def event(
    namespace: str,
    *,
    involved_kind: str,
    involved_name: str,
    reason: str,
    message: str,
    when: float,
    type: str = "Warning",
    count: int = 1,
    component: str = "kubelet",
) -> Raw:
    name = f"{involved_name}.{uid(reason, involved_name, str(when))[:16]}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("Event", name, namespace, when),
        "involvedObject": {"kind": involved_kind, "name": involved_name, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": iso(when),
        "lastTimestamp": iso(when),
        "source": {"component": component},
    }
