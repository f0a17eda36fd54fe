"""The kinds the engine watches, and how to address them on the API server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResourceKind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_prefix(self) -> str:
        return f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"

    def path(self, namespace: str | None = None) -> str:
        """Collection path, cluster-wide or in one namespace."""
        if namespace is not None and self.namespaced:
            return f"{self.api_prefix}/namespaces/{namespace}/{self.plural}"
        return f"{self.api_prefix}/{self.plural}"

    @property
    def verb_target(self) -> str:
        """How RBAC names it: 'pods', 'deployments.apps'."""
        return self.plural if not self.group else f"{self.plural}.{self.group}"


NAMESPACES = ResourceKind("Namespace", "", "v1", "namespaces", namespaced=False)
NODES = ResourceKind("Node", "", "v1", "nodes", namespaced=False)
PODS = ResourceKind("Pod", "", "v1", "pods", namespaced=True)
SERVICES = ResourceKind("Service", "", "v1", "services", namespaced=True)
PVCS = ResourceKind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", namespaced=True)
EVENTS = ResourceKind("Event", "", "v1", "events", namespaced=True)
DEPLOYMENTS = ResourceKind("Deployment", "apps", "v1", "deployments", namespaced=True)
REPLICASETS = ResourceKind("ReplicaSet", "apps", "v1", "replicasets", namespaced=True)
STATEFULSETS = ResourceKind("StatefulSet", "apps", "v1", "statefulsets", namespaced=True)
DAEMONSETS = ResourceKind("DaemonSet", "apps", "v1", "daemonsets", namespaced=True)
JOBS = ResourceKind("Job", "batch", "v1", "jobs", namespaced=True)
CRONJOBS = ResourceKind("CronJob", "batch", "v1", "cronjobs", namespaced=True)
ENDPOINTSLICES = ResourceKind(
    "EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", namespaced=True
)
INGRESSES = ResourceKind("Ingress", "networking.k8s.io", "v1", "ingresses", namespaced=True)

#: Every kind the engine keeps in ClusterState, in the order they are listed at start-up
#: (owners before the objects that point at them).
WATCHED_KINDS: tuple[ResourceKind, ...] = (
    NAMESPACES,
    NODES,
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    CRONJOBS,
    JOBS,
    REPLICASETS,
    PODS,
    SERVICES,
    ENDPOINTSLICES,
    INGRESSES,
    PVCS,
    EVENTS,
)

BY_KIND: dict[str, ResourceKind] = {k.kind: k for k in WATCHED_KINDS}
