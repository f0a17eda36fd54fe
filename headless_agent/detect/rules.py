"""Anomaly rules: small named functions from one record to what is wrong with it.

A rule looks at one record (and, through ``RuleContext``, at related state such as a
service's endpoint slices or a pod's recent restarts) and returns ``Finding``s. It knows
nothing of grouping, timing or transitions: the ``Detector`` applies grace periods,
groups pods under their owner and turns findings into opened/updated/resolved anomalies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from headless_agent.detect.anomaly import Severity
from headless_agent.state.records import (
    EndpointSliceRecord,
    EventRecord,
    JobRecord,
    NodeRecord,
    PodRecord,
    PvcRecord,
    Record,
    ServiceRecord,
    WorkloadRecord,
)


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """Thresholds, all in seconds unless named otherwise; every one is configurable."""

    unschedulable_grace: float = 60.0
    not_ready_grace: float = 120.0
    workload_unavailable_grace: float = 300.0
    service_no_endpoints_grace: float = 60.0
    pvc_pending_grace: float = 300.0
    oom_window: float = 3600.0
    restart_burst_count: int = 5
    restart_burst_window: float = 600.0
    event_window: float = 900.0
    unhealthy_burst_count: int = 3
    attention_events: frozenset[str] = frozenset(
        {
            "FailedMount",
            "FailedAttachVolume",
            "FailedCreatePodSandBox",
            "BackOff",
            "Unhealthy",
            "FailedScheduling",
        }
    )

    def longest_grace(self) -> float:
        """The longest any finding waits before it opens an anomaly."""
        graces = [name for name in self.__dataclass_fields__ if name.endswith("_grace")]
        return max(float(getattr(self, name)) for name in graces)


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str
    severity: Severity
    #: catalog id of the message (see i18n/), and its named values
    message_id: str
    params: tuple[tuple[str, str], ...] = ()
    #: when the condition began, if the object says so; otherwise the detector uses the
    #: time it first saw the finding
    since: float | None = None
    #: how long it must persist before it is an anomaly
    grace: float = 0.0
    #: when it stops being one by itself (a past OOM kill, an old event)
    expires_at: float | None = None


class RuleContext(Protocol):
    settings: DetectionSettings

    @property
    def now(self) -> float: ...

    def restarts_within(self, pod: PodRecord, seconds: float) -> tuple[int, float | None]:
        """Restarts seen in the last ``seconds``, and when the oldest of them leaves it."""
        ...

    def records(self, kind: str) -> Iterable[Record]: ...


Rule = Callable[[Any, RuleContext], Iterator[Finding]]


@dataclass
class RuleBook:
    """The rules per kind, in order."""

    by_kind: dict[str, list[Rule]] = field(default_factory=dict)

    def rule(self, *kinds: str) -> Callable[[Rule], Rule]:
        def register(function: Rule) -> Rule:
            for kind in kinds:
                self.by_kind.setdefault(kind, []).append(function)
            return function

        return register

    def evaluate(self, kind: str, record: Record, context: RuleContext) -> list[Finding]:
        findings: list[Finding] = []
        for rule in self.by_kind.get(kind, ()):
            findings.extend(rule(record, context))
        return findings


RULES = RuleBook()

# --- pods ----------------------------------------------------------------------------------

_IMAGE_REASONS = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
_CREATE_REASONS = {"CreateContainerConfigError", "CreateContainerError"}
_RUN_REASONS = {"RunContainerError", "StartError"}


def _params(**values: object) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in values.items())


@RULES.rule("Pod")
def crash_loop(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    for c in pod.containers:
        if c.state == "waiting" and c.reason == "CrashLoopBackOff":
            common = {"container": c.name, "pod": pod.name, "restarts": c.restart_count}
            if c.last_reason:
                yield Finding(
                    "CrashLoopBackOff",
                    Severity.CRITICAL,
                    "anomaly.crash_loop_last",
                    _params(**common, code=c.last_exit_code, last_reason=c.last_reason),
                )
            else:
                yield Finding(
                    "CrashLoopBackOff", Severity.CRITICAL, "anomaly.crash_loop", _params(**common)
                )
            return


@RULES.rule("Pod")
def oom_killed(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    for c in pod.containers:
        if c.state == "terminated" and c.reason == "OOMKilled":
            yield Finding(
                "OOMKilled",
                Severity.CRITICAL,
                "anomaly.oom_now",
                _params(container=c.name, pod=pod.name),
            )
            return
        if c.last_reason == "OOMKilled":
            finished = c.last_finished or context.now
            expires = finished + context.settings.oom_window
            if expires > context.now:
                yield Finding(
                    "OOMKilled",
                    Severity.CRITICAL,
                    "anomaly.oom_recent",
                    _params(container=c.name, pod=pod.name, restarts=c.restart_count),
                    since=finished,
                    expires_at=expires,
                )
                return


def _first_container_failure(
    pod: PodRecord, reasons: set[str], message_id: str
) -> Iterator[Finding]:
    """The first container of the pod waiting or terminated for one of ``reasons``."""
    for c in pod.containers:
        if c.state in ("waiting", "terminated") and c.reason in reasons:
            params = _params(
                container=c.name, pod=pod.name, image=c.image, detail=c.message or c.reason
            )
            yield Finding(c.reason, Severity.CRITICAL, message_id, params)
            return


@RULES.rule("Pod")
def image_pull_failure(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    return _first_container_failure(pod, _IMAGE_REASONS, "anomaly.image_pull")


@RULES.rule("Pod")
def container_create_failure(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    return _first_container_failure(pod, _CREATE_REASONS, "anomaly.create_failed")


@RULES.rule("Pod")
def container_start_failure(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    return _first_container_failure(pod, _RUN_REASONS, "anomaly.start_failed")


@RULES.rule("Pod")
def unschedulable(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    scheduled = pod.condition("PodScheduled")
    if (
        pod.phase == "Pending"
        and scheduled is not None
        and scheduled.status == "False"
        and scheduled.reason == "Unschedulable"
    ):
        yield Finding(
            "Unschedulable",
            Severity.WARNING,
            "anomaly.unschedulable",
            _params(pod=pod.name, detail=scheduled.message or "Unschedulable"),
            since=scheduled.since,
            grace=context.settings.unschedulable_grace,
        )


_CONTAINER_PROBLEMS = {"CrashLoopBackOff", "OOMKilled"} | _IMAGE_REASONS | _CREATE_REASONS
_CONTAINER_PROBLEMS |= _RUN_REASONS


@RULES.rule("Pod")
def running_not_ready(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    if pod.phase != "Running" or pod.deleting:
        return
    if any(c.reason in _CONTAINER_PROBLEMS for c in pod.containers):
        return  # a more specific rule already says why
    ready = pod.condition("Ready")
    if ready is not None and ready.status == "False":
        waiting = [c.name for c in pod.containers if not c.init and not c.ready]
        yield Finding(
            "NotReady",
            Severity.WARNING,
            "anomaly.not_ready_containers" if waiting else "anomaly.not_ready",
            _params(pod=pod.name, containers=", ".join(waiting)),
            since=ready.since,
            grace=context.settings.not_ready_grace,
        )


@RULES.rule("Pod")
def restart_burst(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    settings = context.settings
    restarts, leaves_at = context.restarts_within(pod, settings.restart_burst_window)
    if restarts >= settings.restart_burst_count:
        minutes = round(settings.restart_burst_window / 60)
        yield Finding(
            "RestartBurst",
            Severity.WARNING,
            "anomaly.restart_burst",
            _params(pod=pod.name, restarts=restarts, minutes=minutes),
            expires_at=leaves_at,
        )


@RULES.rule("Pod")
def evicted(pod: PodRecord, context: RuleContext) -> Iterator[Finding]:
    if pod.phase == "Failed" and pod.reason == "Evicted":
        yield Finding(
            "Evicted",
            Severity.WARNING,
            "anomaly.evicted",
            _params(pod=pod.name, detail=pod.message or "Evicted"),
        )


# --- nodes ---------------------------------------------------------------------------------

_PRESSURES = {
    "MemoryPressure": "anomaly.memory_pressure",
    "DiskPressure": "anomaly.disk_pressure",
    "PIDPressure": "anomaly.pid_pressure",
}


@RULES.rule("Node")
def node_not_ready(node: NodeRecord, context: RuleContext) -> Iterator[Finding]:
    ready = node.condition("Ready")
    if ready is None or ready.status == "True":
        return
    if ready.status == "Unknown":
        yield Finding(
            "NodeUnknown",
            Severity.CRITICAL,
            "anomaly.node_unknown",
            _params(node=node.name, detail=ready.message or ready.reason or "Unknown"),
            since=ready.since,
        )
    else:
        yield Finding(
            "NodeNotReady",
            Severity.CRITICAL,
            "anomaly.node_not_ready",
            _params(node=node.name, detail=ready.message or ready.reason or "NotReady"),
            since=ready.since,
        )


@RULES.rule("Node")
def node_pressure(node: NodeRecord, context: RuleContext) -> Iterator[Finding]:
    for condition_type, message_id in _PRESSURES.items():
        entry = node.condition(condition_type)
        if entry is not None and entry.status == "True":
            yield Finding(
                condition_type,
                Severity.WARNING,
                message_id,
                _params(node=node.name, detail=entry.message or condition_type),
                since=entry.since,
            )
    network = node.condition("NetworkUnavailable")
    if network is not None and network.status == "True":
        yield Finding(
            "NetworkUnavailable",
            Severity.CRITICAL,
            "anomaly.network_unavailable",
            _params(
                node=node.name, detail=network.message or network.reason or "NetworkUnavailable"
            ),
            since=network.since,
        )


# --- workloads -----------------------------------------------------------------------------


@RULES.rule("Deployment")
def deployment_stuck(deployment: WorkloadRecord, context: RuleContext) -> Iterator[Finding]:
    progressing = deployment.condition("Progressing")
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        yield Finding(
            "ProgressDeadlineExceeded",
            Severity.CRITICAL,
            "anomaly.progress_deadline",
            _params(name=deployment.name, detail=progressing.message),
            since=progressing.since,
        )


@RULES.rule("Deployment", "StatefulSet", "DaemonSet")
def workload_unavailable(workload: WorkloadRecord, context: RuleContext) -> Iterator[Finding]:
    if workload.desired <= 0 or workload.ready >= workload.desired:
        return
    available = workload.condition("Available")
    since = available.since if available is not None and available.status == "False" else None
    yield Finding(
        "Unavailable",
        Severity.WARNING,
        "anomaly.unavailable",
        _params(name=workload.name, ready=workload.ready, desired=workload.desired),
        since=since,
        grace=context.settings.workload_unavailable_grace,
    )


@RULES.rule("Job")
def job_failed(job: JobRecord, context: RuleContext) -> Iterator[Finding]:
    failed = job.condition("Failed")
    if failed is not None and failed.status == "True":
        yield Finding(
            "JobFailed",
            Severity.WARNING,
            "anomaly.job_failed",
            _params(name=job.name, detail=failed.message or failed.reason or "Failed"),
            since=failed.since,
        )


@RULES.rule("Service")
def service_without_endpoints(service: ServiceRecord, context: RuleContext) -> Iterator[Finding]:
    if not service.selector or service.type == "ExternalName":
        return
    ready = sum(
        s.ready_endpoints
        for s in context.records("EndpointSlice")
        if isinstance(s, EndpointSliceRecord)
        and s.namespace == service.namespace
        and s.service == service.name
    )
    if ready > 0:
        return  # the common case, decided without looking at pods
    selector = set(service.selector)
    selects_pods = any(
        isinstance(pod, PodRecord)
        and pod.namespace == service.namespace
        and selector <= set(pod.labels)
        and not pod.deleting
        for pod in context.records("Pod")
    )
    if selects_pods:
        yield Finding(
            "NoReadyEndpoints",
            Severity.WARNING,
            "anomaly.no_endpoints",
            _params(name=service.name),
            grace=context.settings.service_no_endpoints_grace,
        )


@RULES.rule("PersistentVolumeClaim")
def pvc_pending(pvc: PvcRecord, context: RuleContext) -> Iterator[Finding]:
    if pvc.phase == "Pending":
        yield Finding(
            "PvcPending",
            Severity.WARNING,
            "anomaly.pvc_pending_class" if pvc.storage_class else "anomaly.pvc_pending",
            _params(name=pvc.name, storage_class=pvc.storage_class),
            since=pvc.created,
            grace=context.settings.pvc_pending_grace,
        )


# --- events --------------------------------------------------------------------------------


@RULES.rule("Event")
def attention_event(event: EventRecord, context: RuleContext) -> Iterator[Finding]:
    settings = context.settings
    if event.type != "Warning" or event.reason not in settings.attention_events:
        return
    if event.reason == "Unhealthy" and event.count < settings.unhealthy_burst_count:
        return
    last = event.last_seen or context.now
    expires = last + settings.event_window
    if expires <= context.now:
        return
    yield Finding(
        event.reason,
        Severity.WARNING,
        "anomaly.event_repeated" if event.count > 1 else "anomaly.event",
        _params(
            kind=event.object_kind,
            name=event.object_name,
            detail=event.message,
            count=event.count,
        ),
        since=event.first_seen,
        expires_at=expires,
    )
