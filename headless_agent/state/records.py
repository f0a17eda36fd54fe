"""Compact records: what views, detection and operations need of each object, nothing more.

Raw objects are large (a pod's JSON is 5-10 KiB with managedFields); a record keeps a few
hundred bytes. Records are frozen slots dataclasses, so "did this object change in a way
anyone cares about" is plain equality: a node heartbeat or a new resourceVersion alone
yields an equal record and publishes nothing.

``parse(kind, raw)`` is the one entry point; it raises ``MalformedObject`` for an object
without the metadata every record needs, and reads every other odd field as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headless_agent.state.parsing import (
    Raw,
    byte_count,
    controller_of,
    items,
    labels_of,
    mapping,
    millicores,
    text,
    timestamp,
    whole,
)


class MalformedObject(ValueError):
    """An object the API (or an agent, or the demo) sent that lacks name or kind data."""


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str
    since: float | None  # lastTransitionTime


def _conditions(status: Raw) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=text(c.get("type")),
            status=text(c.get("status")),
            reason=text(c.get("reason")),
            message=text(c.get("message")),
            since=timestamp(c.get("lastTransitionTime")),
        )
        for c in items(status.get("conditions"))
    )


@dataclass(frozen=True, slots=True)
class Record:
    """Fields every record has. ``key`` is (namespace or '', name)."""

    namespace: str
    name: str
    uid: str
    created: float | None
    labels: tuple[tuple[str, str], ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def condition(self, kind: str) -> Condition | None:
        for entry in getattr(self, "conditions", ()):
            if entry.type == kind:
                return entry  # type: ignore[no-any-return]
        return None


def _base(raw: Raw) -> dict[str, Any]:
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise MalformedObject("object has no metadata.name")
    return {
        "namespace": text(metadata.get("namespace")),
        "name": metadata["name"],
        "uid": text(metadata.get("uid")),
        "created": timestamp(metadata.get("creationTimestamp")),
        "labels": labels_of(metadata),
    }


# --- Pods ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerState:
    name: str
    init: bool
    image: str
    ready: bool
    restart_count: int
    state: str  # waiting | running | terminated | unknown
    reason: str  # of the waiting or terminated state
    message: str
    exit_code: int | None
    last_reason: str  # last termination's reason (OOMKilled, Error, ...)
    last_exit_code: int | None
    last_finished: float | None


def _container_state(status: Raw, init: bool) -> ContainerState:
    state = mapping(status.get("state"))
    last = mapping(mapping(status.get("lastState")).get("terminated"))
    phase, detail = "unknown", {}
    for candidate in ("waiting", "running", "terminated"):
        if candidate in state:
            phase, detail = candidate, mapping(state[candidate])
            break
    exit_code = detail.get("exitCode")
    last_exit = last.get("exitCode")
    return ContainerState(
        name=text(status.get("name")),
        init=init,
        image=text(status.get("image")),
        ready=status.get("ready") is True,
        restart_count=whole(status.get("restartCount")),
        state=phase,
        reason=text(detail.get("reason")),
        message=text(detail.get("message"))[:500],
        exit_code=exit_code if isinstance(exit_code, int) else None,
        last_reason=text(last.get("reason")),
        last_exit_code=last_exit if isinstance(last_exit, int) else None,
        last_finished=timestamp(last.get("finishedAt")),
    )


@dataclass(frozen=True, slots=True)
class PodRecord(Record):
    phase: str
    reason: str  # status.reason, e.g. Evicted
    message: str
    node: str
    pod_ip: str
    host_ip: str
    qos: str
    owner_kind: str  # the controller as the pod names it (ReplicaSet, StatefulSet, ...)
    owner_name: str
    containers: tuple[ContainerState, ...]
    conditions: tuple[Condition, ...]
    cpu_request_milli: int
    cpu_limit_milli: int
    memory_request_bytes: int
    memory_limit_bytes: int
    deleting: bool

    @property
    def ready(self) -> bool:
        ready = self.condition("Ready")
        return ready is not None and ready.status == "True"

    @property
    def restart_count(self) -> int:
        return sum(c.restart_count for c in self.containers if not c.init)

    @property
    def display_status(self) -> str:
        """What kubectl's STATUS column would say: a container reason beats the phase."""
        if self.deleting:
            return "Terminating"
        for container in self.containers:
            if container.init and container.state != "terminated" and container.reason:
                return f"Init:{container.reason}"
        for container in self.containers:
            waiting = container.state in ("waiting", "terminated")
            if not container.init and waiting and container.reason:
                return container.reason
        return self.reason or self.phase or "Unknown"


def parse_pod(raw: Raw) -> PodRecord:
    spec, status = mapping(raw.get("spec")), mapping(raw.get("status"))
    containers = tuple(
        [_container_state(s, True) for s in items(status.get("initContainerStatuses"))]
        + [_container_state(s, False) for s in items(status.get("containerStatuses"))]
    )
    cpu_req = cpu_lim = mem_req = mem_lim = 0
    for container in items(spec.get("containers")):
        resources = mapping(container.get("resources"))
        requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
        cpu_req += millicores(requests.get("cpu"))
        cpu_lim += millicores(limits.get("cpu"))
        mem_req += byte_count(requests.get("memory"))
        mem_lim += byte_count(limits.get("memory"))
    metadata = mapping(raw.get("metadata"))
    owner_kind, owner_name = controller_of(metadata)
    return PodRecord(
        **_base(raw),
        phase=text(status.get("phase")),
        reason=text(status.get("reason")),
        message=text(status.get("message"))[:500],
        node=text(spec.get("nodeName")),
        pod_ip=text(status.get("podIP")),
        host_ip=text(status.get("hostIP")),
        qos=text(status.get("qosClass")),
        owner_kind=owner_kind,
        owner_name=owner_name,
        containers=containers,
        conditions=_conditions(status),
        cpu_request_milli=cpu_req,
        cpu_limit_milli=cpu_lim,
        memory_request_bytes=mem_req,
        memory_limit_bytes=mem_lim,
        deleting=metadata.get("deletionTimestamp") is not None,
    )


# --- Nodes and namespaces ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class NodeRecord(Record):
    conditions: tuple[Condition, ...]
    roles: tuple[str, ...]
    unschedulable: bool
    taints: tuple[Taint, ...]
    kubelet_version: str
    internal_ip: str
    cpu_capacity_milli: int
    memory_capacity_bytes: int
    pods_capacity: int
    cpu_allocatable_milli: int
    memory_allocatable_bytes: int
    pods_allocatable: int

    @property
    def ready_status(self) -> str:
        """'True', 'False' or 'Unknown' (no Ready condition reads as Unknown)."""
        ready = self.condition("Ready")
        return ready.status if ready is not None else "Unknown"


def parse_node(raw: Raw) -> NodeRecord:
    base = _base(raw)
    spec, status = mapping(raw.get("spec")), mapping(raw.get("status"))
    capacity, allocatable = mapping(status.get("capacity")), mapping(status.get("allocatable"))
    roles = sorted(
        key.split("/", 1)[1]
        for key, _ in base["labels"]
        if key.startswith("node-role.kubernetes.io/") and "/" in key
    )
    internal_ip = next(
        (
            text(a.get("address"))
            for a in items(status.get("addresses"))
            if a.get("type") == "InternalIP"
        ),
        "",
    )
    return NodeRecord(
        **base,
        conditions=_conditions(status),
        roles=tuple(r for r in roles if r),
        unschedulable=spec.get("unschedulable") is True,
        taints=tuple(
            Taint(text(t.get("key")), text(t.get("value")), text(t.get("effect")))
            for t in items(spec.get("taints"))
        ),
        kubelet_version=text(mapping(status.get("nodeInfo")).get("kubeletVersion")),
        internal_ip=internal_ip,
        cpu_capacity_milli=millicores(capacity.get("cpu")),
        memory_capacity_bytes=byte_count(capacity.get("memory")),
        pods_capacity=int(byte_count(capacity.get("pods"))),
        cpu_allocatable_milli=millicores(allocatable.get("cpu")),
        memory_allocatable_bytes=byte_count(allocatable.get("memory")),
        pods_allocatable=int(byte_count(allocatable.get("pods"))),
    )


@dataclass(frozen=True, slots=True)
class NamespaceRecord(Record):
    phase: str


def parse_namespace(raw: Raw) -> NamespaceRecord:
    return NamespaceRecord(**_base(raw), phase=text(mapping(raw.get("status")).get("phase")))


# --- Workloads -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkloadRecord(Record):
    """Deployments, StatefulSets, DaemonSets and ReplicaSets share one shape."""

    desired: int
    ready: int
    available: int
    updated: int
    conditions: tuple[Condition, ...]
    owner_kind: str
    owner_name: str
    generation: int
    observed_generation: int
    images: tuple[str, ...]

    @property
    def unavailable(self) -> int:
        return max(self.desired - self.available, 0)


def _images(spec: Raw) -> tuple[str, ...]:
    pod_spec = mapping(mapping(spec.get("template")).get("spec"))
    return tuple(text(c.get("image")) for c in items(pod_spec.get("containers")))


def _workload(raw: Raw, desired: int, ready: int, available: int, updated: int) -> WorkloadRecord:
    metadata, spec, status = (mapping(raw.get(k)) for k in ("metadata", "spec", "status"))
    owner_kind, owner_name = controller_of(metadata)
    return WorkloadRecord(
        **_base(raw),
        desired=desired,
        ready=ready,
        available=available,
        updated=updated,
        conditions=_conditions(status),
        owner_kind=owner_kind,
        owner_name=owner_name,
        generation=whole(metadata.get("generation")),
        observed_generation=whole(status.get("observedGeneration")),
        images=_images(spec),
    )


def parse_deployment(raw: Raw) -> WorkloadRecord:
    spec, status = mapping(raw.get("spec")), mapping(raw.get("status"))
    desired = spec.get("replicas")
    return _workload(
        raw,
        desired=desired if isinstance(desired, int) else 1,
        ready=whole(status.get("readyReplicas")),
        available=whole(status.get("availableReplicas")),
        updated=whole(status.get("updatedReplicas")),
    )


parse_replicaset = parse_deployment  # the same replica fields
parse_statefulset = parse_deployment


def parse_daemonset(raw: Raw) -> WorkloadRecord:
    status = mapping(raw.get("status"))
    return _workload(
        raw,
        desired=whole(status.get("desiredNumberScheduled")),
        ready=whole(status.get("numberReady")),
        available=whole(status.get("numberAvailable")),
        updated=whole(status.get("updatedNumberScheduled")),
    )


@dataclass(frozen=True, slots=True)
class JobRecord(Record):
    active: int
    succeeded: int
    failed: int
    completions: int
    conditions: tuple[Condition, ...]
    owner_kind: str
    owner_name: str


def parse_job(raw: Raw) -> JobRecord:
    metadata, spec, status = (mapping(raw.get(k)) for k in ("metadata", "spec", "status"))
    owner_kind, owner_name = controller_of(metadata)
    completions = spec.get("completions")
    return JobRecord(
        **_base(raw),
        active=whole(status.get("active")),
        succeeded=whole(status.get("succeeded")),
        failed=whole(status.get("failed")),
        completions=completions if isinstance(completions, int) else 1,
        conditions=_conditions(status),
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


@dataclass(frozen=True, slots=True)
class CronJobRecord(Record):
    schedule: str
    suspended: bool
    active: int
    last_schedule: float | None
    last_success: float | None


def parse_cronjob(raw: Raw) -> CronJobRecord:
    spec, status = mapping(raw.get("spec")), mapping(raw.get("status"))
    return CronJobRecord(
        **_base(raw),
        schedule=text(spec.get("schedule")),
        suspended=spec.get("suspend") is True,
        active=len(items(status.get("active"))),
        last_schedule=timestamp(status.get("lastScheduleTime")),
        last_success=timestamp(status.get("lastSuccessfulTime")),
    )


# --- Networking and storage ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceRecord(Record):
    type: str
    cluster_ip: str
    selector: tuple[tuple[str, str], ...]
    ports: tuple[str, ...]  # "80/TCP"


def parse_service(raw: Raw) -> ServiceRecord:
    spec = mapping(raw.get("spec"))
    return ServiceRecord(
        **_base(raw),
        type=text(spec.get("type")) or "ClusterIP",
        cluster_ip=text(spec.get("clusterIP")),
        selector=tuple(sorted((str(k), str(v)) for k, v in mapping(spec.get("selector")).items())),
        ports=tuple(
            f"{p.get('port')}/{text(p.get('protocol')) or 'TCP'}" for p in items(spec.get("ports"))
        ),
    )


@dataclass(frozen=True, slots=True)
class EndpointSliceRecord(Record):
    service: str
    ready_endpoints: int
    total_endpoints: int


def parse_endpointslice(raw: Raw) -> EndpointSliceRecord:
    base = _base(raw)
    endpoints = items(raw.get("endpoints"))
    ready = sum(
        1 for e in endpoints if mapping(e.get("conditions")).get("ready", True) is not False
    )
    return EndpointSliceRecord(
        **base,
        service=dict(base["labels"]).get("kubernetes.io/service-name", ""),
        ready_endpoints=ready,
        total_endpoints=len(endpoints),
    )


@dataclass(frozen=True, slots=True)
class IngressRoute:
    host: str
    path: str
    service: str
    port: str


@dataclass(frozen=True, slots=True)
class IngressRecord(Record):
    ingress_class: str
    routes: tuple[IngressRoute, ...]
    tls_hosts: tuple[str, ...]


def parse_ingress(raw: Raw) -> IngressRecord:
    spec = mapping(raw.get("spec"))
    routes = []
    for rule in items(spec.get("rules")):
        for path in items(mapping(rule.get("http")).get("paths")):
            service = mapping(mapping(path.get("backend")).get("service"))
            port = mapping(service.get("port"))
            routes.append(
                IngressRoute(
                    host=text(rule.get("host")),
                    path=text(path.get("path")) or "/",
                    service=text(service.get("name")),
                    port=str(port.get("number") or port.get("name") or ""),
                )
            )
    return IngressRecord(
        **_base(raw),
        ingress_class=text(spec.get("ingressClassName")),
        routes=tuple(routes),
        tls_hosts=tuple(
            text(h) for t in items(spec.get("tls")) for h in (t.get("hosts") or []) if text(h)
        ),
    )


@dataclass(frozen=True, slots=True)
class PvcRecord(Record):
    phase: str
    storage_class: str
    volume: str
    requested_bytes: int
    capacity_bytes: int


def parse_pvc(raw: Raw) -> PvcRecord:
    spec, status = mapping(raw.get("spec")), mapping(raw.get("status"))
    requests = mapping(mapping(spec.get("resources")).get("requests"))
    return PvcRecord(
        **_base(raw),
        phase=text(status.get("phase")),
        storage_class=text(spec.get("storageClassName")),
        volume=text(spec.get("volumeName")),
        requested_bytes=byte_count(requests.get("storage")),
        capacity_bytes=byte_count(mapping(status.get("capacity")).get("storage")),
    )


# --- Events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRecord(Record):
    type: str  # Normal | Warning
    reason: str
    message: str
    object_kind: str
    object_namespace: str
    object_name: str
    object_uid: str
    count: int
    first_seen: float | None
    last_seen: float | None
    source: str


def parse_event(raw: Raw) -> EventRecord:
    involved = mapping(raw.get("involvedObject"))
    series = mapping(raw.get("series"))
    count = whole(series.get("count")) or whole(raw.get("count")) or 1
    last = (
        timestamp(series.get("lastObservedTime"))
        or timestamp(raw.get("lastTimestamp"))
        or timestamp(raw.get("eventTime"))
        or timestamp(mapping(raw.get("metadata")).get("creationTimestamp"))
    )
    source = mapping(raw.get("source"))
    return EventRecord(
        **_base(raw),
        type=text(raw.get("type")) or "Normal",
        reason=text(raw.get("reason")),
        message=text(raw.get("message"))[:1000],
        object_kind=text(involved.get("kind")),
        object_namespace=text(involved.get("namespace")),
        object_name=text(involved.get("name")),
        object_uid=text(involved.get("uid")),
        count=count,
        first_seen=timestamp(raw.get("firstTimestamp")) or timestamp(raw.get("eventTime")) or last,
        last_seen=last,
        source=text(source.get("component")) or text(raw.get("reportingComponent")),
    )


PARSERS: dict[str, Callable[[Raw], Record]] = {
    "Namespace": parse_namespace,
    "Node": parse_node,
    "Pod": parse_pod,
    "Deployment": parse_deployment,
    "ReplicaSet": parse_replicaset,
    "StatefulSet": parse_statefulset,
    "DaemonSet": parse_daemonset,
    "Job": parse_job,
    "CronJob": parse_cronjob,
    "Service": parse_service,
    "EndpointSlice": parse_endpointslice,
    "Ingress": parse_ingress,
    "PersistentVolumeClaim": parse_pvc,
    "Event": parse_event,
}


def parse(kind: str, raw: Raw) -> Record:
    """Turn one raw object of a watched kind into its record."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise MalformedObject(f"kind {kind!r} is not watched")
    if not isinstance(raw, dict):
        raise MalformedObject(f"{kind} is not a JSON object")
    return parser(raw)
