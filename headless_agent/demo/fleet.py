"""A believable demo fleet: clusters with namespaces, nodes, workloads and their plumbing.

``DemoCluster`` owns the raw objects of one simulated cluster and knows how to change them
the way Kubernetes would (a container crash-looping, an OOM kill, a failed image pull, a
node going NotReady, a rollout replacing pods). Each change returns the watch events it
caused, which the demo source feeds to a ClusterState like an informer would.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from headless_agent.demo import objects as o

Raw = dict[str, Any]
WatchEvent = tuple[str, str, Raw]  # (kind, ADDED|MODIFIED|DELETED, object)


@dataclass(frozen=True)
class AppSpec:
    name: str
    namespace: str
    image: str
    replicas: int
    kind: str = "Deployment"
    cpu_m: int = 100
    memory_mi: int = 128
    exposed: bool = True


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    region: str
    workers: int
    apps: tuple[AppSpec, ...]
    host: str


_SHOP = (
    AppSpec("storefront", "shop", "ghcr.io/acme/storefront:4.12.1", 4, cpu_m=250, memory_mi=256),
    AppSpec("checkout", "shop", "ghcr.io/acme/checkout:2.8.0", 3, cpu_m=200, memory_mi=192),
    AppSpec("cart", "shop", "ghcr.io/acme/cart:1.19.3", 3),
    AppSpec("payments", "payments", "ghcr.io/acme/payments:7.2.4", 2, cpu_m=300, memory_mi=384),
    AppSpec("ledger", "payments", "postgres:16.4", 1, kind="StatefulSet", memory_mi=1024),
    AppSpec("reports", "analytics", "ghcr.io/acme/reports:0.9.7", 2, memory_mi=512, exposed=False),
    AppSpec(
        "prometheus",
        "monitoring",
        "quay.io/prometheus/prometheus:v3.5.0",
        1,
        kind="StatefulSet",
        memory_mi=2048,
    ),
    AppSpec(
        "node-exporter",
        "monitoring",
        "quay.io/prometheus/node-exporter:v1.9.1",
        0,
        kind="DaemonSet",
        exposed=False,
    ),
    AppSpec("coredns", "kube-system", "registry.k8s.io/coredns/coredns:v1.12.1", 2),
)

FLEET = (
    ClusterSpec("prod-eu", "eu-west-1", 6, _SHOP, "shop.acme.example"),
    ClusterSpec("staging", "eu-west-1", 3, _SHOP, "staging.acme.example"),
    ClusterSpec(
        "edge-tokyo",
        "ap-northeast-1",
        2,
        tuple(a for a in _SHOP if a.namespace in ("shop", "kube-system", "monitoring")),
        "jp.acme.example",
    ),
)


@dataclass
class DemoCluster:
    """The raw objects of one simulated cluster, changed by scenario steps."""

    spec: ClusterSpec
    now: float
    objects: dict[str, dict[tuple[str, str], Raw]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _ip: int = 10

    # --- building --------------------------------------------------------------------------

    @classmethod
    def build(cls, spec: ClusterSpec, now: float) -> DemoCluster:
        cluster = cls(spec, now)
        cluster._build()
        return cluster

    def _put(self, raw: Raw) -> Raw:
        metadata = raw["metadata"]
        # Each simulated cluster is a different cluster: the same object in two of them
        # has two UIDs (history tells clusters apart by their kube-system namespace's UID).
        if "uid" in metadata:
            metadata["uid"] = o.uid(self.spec.name, metadata["uid"])
        for reference in metadata.get("ownerReferences", ()):
            reference["uid"] = o.uid(self.spec.name, reference["uid"])
        self.objects.setdefault(raw["kind"], {})[
            (metadata.get("namespace", ""), metadata["name"])
        ] = raw
        return raw

    def _pod_ip(self) -> str:
        self._ip += 1
        return f"10.{42 + len(self.spec.name) % 7}.{self._ip // 250}.{self._ip % 250 + 2}"

    @property
    def node_names(self) -> list[str]:
        return sorted(name for _, name in self.objects.get("Node", {}))

    def _build(self) -> None:
        spec, now = self.spec, self.now
        created = now - 86400 * 41
        for name in sorted({a.namespace for a in spec.apps} | {"default"}):
            self._put(o.namespace(name, created))
        self._put(
            o.node(
                f"{spec.name}-cp-1",
                role="control-plane",
                cpu=4,
                memory_gib=16,
                ip="192.168.10.2",
                created=created,
                zone=f"{spec.region}a",
            )
        )
        for i in range(spec.workers):
            zone = f"{spec.region}{'abc'[i % 3]}"
            self._put(
                o.node(
                    f"{spec.name}-worker-{i + 1}",
                    role="worker",
                    cpu=8,
                    memory_gib=32,
                    ip=f"192.168.10.{10 + i}",
                    created=created + 60,
                    zone=zone,
                )
            )
        workers = [n for n in self.node_names if "worker" in n]
        for index, app in enumerate(spec.apps):
            self._build_app(app, workers, created + 3600 * (index + 1))
        self._put(
            o.ingress(
                "storefront",
                "shop",
                spec.host,
                [("/", "storefront"), ("/checkout", "checkout"), ("/cart", "cart")],
                created,
            )
        )
        self._put(o.pvc("ledger-data-ledger-0", "payments", 100, created))
        self._put(o.pvc("prometheus-data-prometheus-0", "monitoring", 200, created))

    def _build_app(self, app: AppSpec, workers: list[str], created: float) -> None:
        labels = {"app.kubernetes.io/name": app.name, "app": app.name}
        containers = [o.container_spec(app.name, app.image, app.cpu_m, app.memory_mi)]
        replicas = len(workers) if app.kind == "DaemonSet" else app.replicas
        self._put(
            o.workload(
                app.kind,
                app.name,
                app.namespace,
                replicas=replicas,
                labels=labels,
                containers=containers,
                created=created,
            )
        )
        owner_kind, owner_name = app.kind, app.name
        if app.kind == "Deployment":
            rs_name = f"{app.name}-{o.short_hash(app.image, length=10)}"
            rs_labels = {**labels, "pod-template-hash": rs_name.rsplit("-", 1)[1]}
            self._put(
                o.workload(
                    "ReplicaSet",
                    rs_name,
                    app.namespace,
                    replicas=replicas,
                    labels=rs_labels,
                    containers=containers,
                    created=created,
                    owner_kind="Deployment",
                    owner_name=app.name,
                )
            )
            owner_kind, owner_name = "ReplicaSet", rs_name
        pods = []
        for i in range(replicas):
            if app.kind == "Deployment":
                name = f"{owner_name}-{o.short_hash(app.name, str(i))}"
            elif app.kind == "StatefulSet":
                name = f"{app.name}-{i}"
            else:
                name = f"{app.name}-{o.short_hash(app.name, workers[i])}"
            node = (
                workers[i]
                if app.kind == "DaemonSet"
                else workers[(i + len(app.name)) % len(workers)]
            )
            host_ip = self.objects["Node"][("", node)]["status"]["addresses"][0]["address"]
            pods.append(
                self._put(
                    o.pod(
                        name,
                        app.namespace,
                        labels=labels,
                        owner_kind=owner_kind,
                        owner_name=owner_name,
                        node_name=node,
                        ip=self._pod_ip(),
                        host_ip=host_ip,
                        containers=containers,
                        created=created + 30,
                    )
                )
            )
        if app.exposed:
            self._put(
                o.service(
                    app.name,
                    app.namespace,
                    labels,
                    f"10.96.{len(app.name)}.{replicas + 10}",
                    created,
                )
            )
            self._put(o.endpoint_slice(app.name, app.namespace, pods, created))

    # --- reading ---------------------------------------------------------------------------

    def raw_objects(self, kind: str) -> list[Raw]:
        return [copy.deepcopy(raw) for raw in self.objects.get(kind, {}).values()]

    def pods_of(self, app: str, namespace: str) -> list[Raw]:
        return sorted(
            (
                p
                for (ns, _), p in self.objects.get("Pod", {}).items()
                if ns == namespace and p["metadata"]["labels"].get("app") == app
            ),
            key=lambda p: str(p["metadata"]["name"]),
        )

    # --- changing --------------------------------------------------------------------------

    def _modified(self, raw: Raw) -> WatchEvent:
        raw["metadata"]["resourceVersion"] = o.next_version()
        return (raw["kind"], "MODIFIED", copy.deepcopy(raw))

    def _added(self, raw: Raw) -> WatchEvent:
        self._put(raw)
        return (raw["kind"], "ADDED", copy.deepcopy(raw))

    def _deleted(self, raw: Raw) -> WatchEvent:
        metadata = raw["metadata"]
        self.objects[raw["kind"]].pop((metadata.get("namespace", ""), metadata["name"]), None)
        return (raw["kind"], "DELETED", copy.deepcopy(raw))

    def _warn(self, raw: Raw, reason: str, message: str, count: int = 1) -> WatchEvent:
        metadata = raw["metadata"]
        return self._added(
            o.event(
                metadata["namespace"],
                involved_kind=raw["kind"],
                involved_name=metadata["name"],
                reason=reason,
                message=message,
                when=self.now,
                count=count,
            )
        )

    def _set_container(
        self,
        pod: Raw,
        state: Raw,
        *,
        ready: bool,
        restarts: int | None = None,
        last: Raw | None = None,
    ) -> None:
        status = pod["status"]
        container = status["containerStatuses"][0]
        container["state"] = state
        container["ready"] = ready
        container["started"] = ready
        if restarts is not None:
            container["restartCount"] = restarts
        if last is not None:
            container["lastState"] = {"terminated": last}
        for condition in status["conditions"]:
            if (
                condition["type"] in ("Ready", "ContainersReady")
                and (condition["status"] == "True") != ready
            ):
                condition["status"] = "True" if ready else "False"
                condition["lastTransitionTime"] = o.iso(self.now)
                condition["reason"] = "" if ready else "ContainersNotReady"

    def _sync_workload(self, app: str, namespace: str) -> list[WatchEvent]:
        """The owning workload's ready counts follow its pods, as its controller would."""
        for kind in ("Deployment", "StatefulSet"):
            workload = self.objects.get(kind, {}).get((namespace, app))
            if workload is None:
                continue
            ready = sum(
                1
                for p in self.pods_of(app, namespace)
                if p["status"]["containerStatuses"][0]["ready"]
            )
            status = workload["status"]
            if status.get("readyReplicas") == ready:
                return []
            status["readyReplicas"] = status["availableReplicas"] = ready
            for condition in status.get("conditions", []):
                if condition["type"] == "Available":
                    available = ready >= workload["spec"].get("replicas", 1)
                    if (condition["status"] == "True") != available:
                        condition["status"] = "True" if available else "False"
                        condition["lastTransitionTime"] = o.iso(self.now)
            return [self._modified(workload)]
        return []

    def crash(self, app: str, namespace: str, pods: int, restarts: int) -> list[WatchEvent]:
        """Containers exit with an error and back off (CrashLoopBackOff)."""
        events = []
        for pod in self.pods_of(app, namespace)[:pods]:
            last = {
                "reason": "Error",
                "exitCode": 1,
                "startedAt": o.iso(self.now - 20),
                "finishedAt": o.iso(self.now - 2),
            }
            waiting = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 40s restarting failed container={app} "
                    f"pod={pod['metadata']['name']}",
                }
            }
            self._set_container(pod, waiting, ready=False, restarts=restarts, last=last)
            events.append(self._modified(pod))
            events.append(
                self._warn(pod, "BackOff", "Back-off restarting failed container", count=restarts)
            )
        return events + self._sync_workload(app, namespace)

    def oom_kill(self, app: str, namespace: str) -> list[WatchEvent]:
        pod = self.pods_of(app, namespace)[0]
        restarts = pod["status"]["containerStatuses"][0]["restartCount"] + 1
        last = {
            "reason": "OOMKilled",
            "exitCode": 137,
            "startedAt": o.iso(self.now - 300),
            "finishedAt": o.iso(self.now),
        }
        self._set_container(
            pod,
            {"running": {"startedAt": o.iso(self.now + 1)}},
            ready=True,
            restarts=restarts,
            last=last,
        )
        return [self._modified(pod)]

    def heal(self, app: str, namespace: str) -> list[WatchEvent]:
        """Every pod of the app running and ready again (restart counts stay)."""
        events = []
        for pod in self.pods_of(app, namespace):
            container = pod["status"]["containerStatuses"][0]
            if not container["ready"] or "running" not in container["state"]:
                self._set_container(pod, {"running": {"startedAt": o.iso(self.now)}}, ready=True)
                events.append(self._modified(pod))
        return events + self._sync_workload(app, namespace)

    def rollout(
        self, app: str, namespace: str, image: str, *, pullable: bool = True
    ) -> list[WatchEvent]:
        """A new ReplicaSet for a new image; its first pod either starts or cannot pull."""
        deployment = self.objects["Deployment"][(namespace, app)]
        containers = copy.deepcopy(deployment["spec"]["template"]["spec"]["containers"])
        containers[0]["image"] = image
        deployment["spec"]["template"]["spec"]["containers"] = containers
        deployment["metadata"]["generation"] += 1
        events = [self._modified(deployment)]
        rs_name = f"{app}-{o.short_hash(image, length=10)}"
        labels = {
            "app.kubernetes.io/name": app,
            "app": app,
            "pod-template-hash": rs_name.rsplit("-", 1)[1],
        }
        events.append(
            self._added(
                o.workload(
                    "ReplicaSet",
                    rs_name,
                    namespace,
                    replicas=1,
                    labels=labels,
                    containers=containers,
                    created=self.now,
                    owner_kind="Deployment",
                    owner_name=app,
                )
            )
        )
        workers = [n for n in self.node_names if "worker" in n]
        node = workers[self.rng.randrange(len(workers))]
        host_ip = self.objects["Node"][("", node)]["status"]["addresses"][0]["address"]
        new_pod = o.pod(
            f"{rs_name}-{o.short_hash(image, 'p')}",
            namespace,
            labels=labels,
            owner_kind="ReplicaSet",
            owner_name=rs_name,
            node_name=node,
            ip=self._pod_ip(),
            host_ip=host_ip,
            containers=containers,
            created=self.now,
        )
        if not pullable:
            self._set_container(
                new_pod,
                {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}"',
                    }
                },
                ready=False,
            )
            new_pod["status"]["containerStatuses"][0]["image"] = image
            events.append(self._added(new_pod))
            events.append(
                self._warn(new_pod, "Failed", f'Failed to pull image "{image}": not found')
            )
            return events
        events.append(self._added(new_pod))
        old = [
            p
            for p in self.pods_of(app, namespace)
            if p["metadata"]["name"] != new_pod["metadata"]["name"]
            and p["metadata"]["ownerReferences"][0]["name"] != rs_name
        ]
        if old:
            events.append(self._deleted(old[0]))
        return events

    def set_node_ready(self, node: str, ready: str) -> list[WatchEvent]:
        raw = self.objects["Node"][("", node)]
        raw["status"]["conditions"] = o.node_conditions(ready, self.now, self.now)
        events = [self._modified(raw)]
        if ready != "True":
            events.append(
                self._added(
                    o.event(
                        "default",
                        involved_kind="Node",
                        involved_name=node,
                        reason="NodeNotReady",
                        message=f"Node {node} status is now: NodeNotReady",
                        when=self.now,
                        component="node-controller",
                    )
                )
            )
        return events

    def roll_back(self, app: str, namespace: str, image: str) -> list[WatchEvent]:
        """Undo a rollout to ``image``: its ReplicaSet and pods go away."""
        rs_name = f"{app}-{o.short_hash(image, length=10)}"
        events = []
        for pod in self.pods_of(app, namespace):
            if pod["metadata"]["ownerReferences"][0]["name"] == rs_name:
                events.append(self._deleted(pod))
        replicaset = self.objects.get("ReplicaSet", {}).get((namespace, rs_name))
        if replicaset is not None:
            events.append(self._deleted(replicaset))
        return events
