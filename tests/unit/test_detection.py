"""Every anomaly rule, and the detector's grace periods, grouping and transitions."""

from __future__ import annotations

from typing import Any

import pytest

from headless_agent.detect.anomaly import Severity, Transition
from headless_agent.detect.detector import Detector
from headless_agent.detect.rules import DetectionSettings
from headless_agent.state.cluster_state import ClusterState
from tests.unit import raw_objects as raw

T0 = 1_700_001_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A ClusterState with a Detector and a recorded list of transitions."""

    def __init__(self, **settings: Any) -> None:
        self.clock = Clock()
        self.state = ClusterState("prod")
        self.detector = Detector(
            self.state, settings=DetectionSettings(**settings), clock=self.clock
        )
        self.transitions: list[Transition] = []
        self.detector.listeners.append(self.transitions.append)
        self.subscription = self.state.subscribe()

    def feed(self, kind: str, *objects: dict[str, Any], event: str = "MODIFIED") -> None:
        for obj in objects:
            self.state.apply(kind, event, obj)
        self.detector.process(self.subscription.take())

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        self.detector.fire_timers()

    def log(self) -> list[tuple[str, str, str, int]]:
        return [
            (t.type.value, t.anomaly.key.reason, t.anomaly.key.name, t.anomaly.count)
            for t in self.transitions
        ]

    def reasons(self) -> set[str]:
        return {a.key.reason for a in self.detector.open_anomalies()}


def _bare(name: str, **options: Any) -> dict[str, Any]:
    return raw.pod(name, owner=None, **options)


@pytest.mark.parametrize(
    ("container", "reason"),
    [
        (raw.container(waiting="CrashLoopBackOff", restarts=7, last="Error"), "CrashLoopBackOff"),
        (raw.container(terminated="OOMKilled"), "OOMKilled"),
        (raw.container(waiting="ImagePullBackOff"), "ImagePullBackOff"),
        (raw.container(waiting="ErrImagePull"), "ErrImagePull"),
        (raw.container(waiting="InvalidImageName"), "InvalidImageName"),
        (raw.container(waiting="CreateContainerConfigError"), "CreateContainerConfigError"),
        (raw.container(waiting="CreateContainerError"), "CreateContainerError"),
        (raw.container(waiting="RunContainerError"), "RunContainerError"),
        (raw.container(terminated="StartError"), "StartError"),
    ],
)
def test_container_state_rules_open_at_once_and_resolve(
    container: dict[str, Any], reason: str
) -> None:
    h = Harness()
    h.feed("Pod", _bare("p", containers=[container], ready=False))
    assert h.reasons() == {reason}
    (anomaly,) = h.detector.open_anomalies()
    assert anomaly.severity is Severity.CRITICAL and "p" in anomaly.message
    h.feed("Pod", _bare("p"))
    assert h.log() == [("opened", reason, "p", 1), ("resolved", reason, "p", 1)]


def test_oom_kill_in_last_state_ages_out_of_its_window() -> None:
    h = Harness(oom_window=600)
    h.feed(
        "Pod",
        _bare("p", containers=[raw.container(last="OOMKilled", last_finished=T0 - 60, restarts=1)]),
    )
    assert h.reasons() == {"OOMKilled"}
    h.advance(539)
    assert h.reasons() == {"OOMKilled"}
    h.advance(2)
    assert h.reasons() == set() and h.log()[-1][0] == "resolved"


def test_an_old_oom_kill_opens_nothing() -> None:
    h = Harness(oom_window=600)
    h.feed("Pod", _bare("p", containers=[raw.container(last="OOMKilled", last_finished=T0 - 3600)]))
    assert h.log() == []


def test_unschedulable_waits_for_its_grace_period() -> None:
    h = Harness(unschedulable_grace=60)
    pending = _bare(
        "p",
        phase="Pending",
        ready=False,
        ready_since=T0,
        containers=[],
        scheduled=("False", "Unschedulable"),
    )
    h.feed("Pod", pending)
    h.advance(59)
    assert h.log() == []
    h.advance(2)
    assert h.log() == [("opened", "Unschedulable", "p", 1)]
    assert "Insufficient cpu" in h.detector.open_anomalies()[0].message


def test_anomalies_in_their_grace_period_are_tracked_until_they_open_or_go() -> None:
    # What history reconciliation asks after a restart: is this problem still there, even
    # if detection has not opened it again yet?
    h = Harness(unschedulable_grace=60)

    def pending(since: float) -> dict[str, Any]:
        return _bare(
            "p",
            phase="Pending",
            ready=False,
            ready_since=since,
            containers=[],
            scheduled=("False", "Unschedulable"),
        )

    h.feed("Pod", pending(T0))
    assert h.detector.open_anomalies() == []
    assert {(k.name, k.reason) for k in h.detector.tracked_keys()} == {("p", "Unschedulable")}
    h.advance(61)
    assert {(k.name, k.reason) for k in h.detector.tracked_keys()} == {("p", "Unschedulable")}
    assert h.reasons() == {"Unschedulable"}
    h.feed("Pod", _bare("p"))
    assert h.detector.tracked_keys() == set()
    h.feed("Pod", pending(h.clock.now))
    assert len(h.detector.tracked_keys()) == 1
    h.feed("Pod", _bare("p"))  # scheduled within its grace period: nothing left to track
    assert h.detector.tracked_keys() == set()
    assert [entry[0] for entry in h.log()] == ["opened", "resolved"]


def test_running_but_not_ready_after_grace_unless_a_better_reason_exists() -> None:
    h = Harness(not_ready_grace=120)
    h.feed(
        "Pod",
        _bare("p", ready=False, ready_since=T0 - 200, containers=[raw.container(ready=False)]),
    )
    assert h.reasons() == {"NotReady"}
    h2 = Harness(not_ready_grace=120)
    crash = raw.container(waiting="CrashLoopBackOff")
    h2.feed("Pod", _bare("p", ready=False, ready_since=T0 - 200, containers=[crash]))
    assert h2.reasons() == {"CrashLoopBackOff"}


def test_restart_burst_counts_restarts_seen_in_the_window() -> None:
    h = Harness(restart_burst_count=3, restart_burst_window=600)
    for restarts in range(4):
        h.feed("Pod", _bare("p", containers=[raw.container(restarts=restarts)]))
        h.advance(30)
    assert h.reasons() == {"RestartBurst"}
    h.advance(600)
    assert h.reasons() == set()


def test_evicted_pod() -> None:
    h = Harness()
    h.feed("Pod", _bare("p", phase="Failed", reason="Evicted", ready=False, containers=[]))
    assert h.reasons() == {"Evicted"}


@pytest.mark.parametrize(
    ("ready", "pressure", "expected"),
    [
        ("False", {}, {"NodeNotReady"}),
        ("Unknown", {}, {"NodeUnknown"}),
        ("True", {"MemoryPressure": "True"}, {"MemoryPressure"}),
        ("True", {"DiskPressure": "True", "PIDPressure": "True"}, {"DiskPressure", "PIDPressure"}),
        ("True", {"NetworkUnavailable": "True"}, {"NetworkUnavailable"}),
        ("True", {"MemoryPressure": "False"}, set()),
    ],
)
def test_node_rules(ready: str, pressure: dict[str, str], expected: set[str]) -> None:
    h = Harness()
    h.feed("Node", raw.node("n1", ready=ready, pressure=pressure))
    assert h.reasons() == expected
    h.feed("Node", raw.node("n1"))
    assert h.reasons() == set()


def test_deployment_progress_deadline_and_unavailable_after_grace() -> None:
    h = Harness(workload_unavailable_grace=300)
    stuck = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet timed out",
        }
    ]
    h.feed("Deployment", raw.deployment("web", ready=1, conditions=stuck))
    assert h.reasons() == {"ProgressDeadlineExceeded"}
    h.advance(301)
    assert h.reasons() == {"ProgressDeadlineExceeded", "Unavailable"}
    h.feed("Deployment", raw.deployment("web"))
    assert h.reasons() == set()


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_statefulset_and_daemonset_not_fully_available(kind: str) -> None:
    h = Harness(workload_unavailable_grace=60)
    obj = raw.deployment("db", ready=1)
    if kind == "DaemonSet":
        obj["status"] = {"desiredNumberScheduled": 3, "numberReady": 1, "numberAvailable": 1}
    h.feed(kind, obj)
    h.advance(61)
    assert h.reasons() == {"Unavailable"}


def test_failed_job() -> None:
    h = Harness()
    job = {
        "metadata": raw.metadata("nightly", "batch"),
        "spec": {"completions": 1},
        "status": {
            "failed": 6,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        },
    }
    h.feed("Job", job)
    assert h.reasons() == {"JobFailed"}
    assert "backoff limit" in h.detector.open_anomalies()[0].message


def test_service_selecting_pods_without_ready_endpoints() -> None:
    h = Harness(service_no_endpoints_grace=30)
    h.feed(
        "Pod",
        raw.pod("checkout-1", ready=False, ready_since=T0, containers=[raw.container(ready=False)]),
    )
    service = {
        "metadata": raw.metadata("checkout", "shop"),
        "spec": {"selector": {"app": "checkout"}, "ports": [{"port": 80}]},
    }
    slice_ = {
        "metadata": raw.metadata(
            "checkout-abc", "shop", labels={"kubernetes.io/service-name": "checkout"}
        ),
        "endpoints": [{"addresses": ["10.0.0.7"], "conditions": {"ready": False}}],
    }
    h.feed("EndpointSlice", slice_)
    h.feed("Service", service)
    h.advance(31)
    assert "NoReadyEndpoints" in h.reasons()
    slice_["endpoints"][0]["conditions"]["ready"] = True
    slice_["metadata"]["resourceVersion"] = "2"
    h.feed("EndpointSlice", slice_)
    assert "NoReadyEndpoints" not in h.reasons()


def test_service_selecting_nothing_is_not_an_anomaly() -> None:
    h = Harness(service_no_endpoints_grace=0)
    h.feed(
        "Service",
        {"metadata": raw.metadata("ghost", "shop"), "spec": {"selector": {"app": "nothing"}}},
    )
    assert h.reasons() == set()


def test_pvc_pending_beyond_grace() -> None:
    h = Harness(pvc_pending_grace=300)
    pvc = {
        "metadata": raw.metadata("data", "db", creationTimestamp=raw.iso(T0)),
        "spec": {"storageClassName": "fast"},
        "status": {"phase": "Pending"},
    }
    h.feed("PersistentVolumeClaim", pvc)
    h.advance(299)
    assert h.reasons() == set()
    h.advance(2)
    assert h.reasons() == {"PvcPending"}


@pytest.mark.parametrize(
    "reason",
    ["FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox", "BackOff", "FailedScheduling"],
)
def test_warning_events_worth_attention(reason: str) -> None:
    h = Harness(event_window=900)
    h.feed("Event", raw.event("e1", reason, last=T0 - 10, obj="lonely"))
    assert h.reasons() == {reason}
    h.advance(900)
    assert h.reasons() == set()


def test_unhealthy_events_count_only_in_bursts_and_normal_events_never() -> None:
    h = Harness(unhealthy_burst_count=3)
    h.feed("Event", raw.event("e1", "Unhealthy", count=2, last=T0))
    h.feed("Event", raw.event("e2", "FailedMount", last=T0, type="Normal"))
    assert h.reasons() == set()
    h.feed("Event", raw.event("e1", "Unhealthy", count=3, last=T0))
    assert h.reasons() == {"Unhealthy"}


def test_pods_of_one_deployment_are_one_anomaly() -> None:
    h = Harness()
    h.feed("ReplicaSet", raw.replicaset("checkout-7d9f", "checkout"))
    crash = [raw.container(waiting="CrashLoopBackOff", restarts=3)]
    h.feed("Pod", *[raw.pod(f"checkout-{i}", containers=crash, ready=False) for i in range(50)])
    (anomaly,) = h.detector.open_anomalies()
    assert (anomaly.key.kind, anomaly.key.name, anomaly.count) == ("Deployment", "checkout", 50)
    assert h.log() == [("opened", "CrashLoopBackOff", "checkout", 50)]
    h.feed("Pod", *[raw.pod(f"checkout-{i}") for i in range(49)])
    assert h.log()[-1] == ("updated", "CrashLoopBackOff", "checkout", 1)
    h.feed("Pod", raw.pod("checkout-49"), event="DELETED")
    assert h.log()[-1] == ("resolved", "CrashLoopBackOff", "checkout", 1)


def test_pods_listed_before_their_replicaset_still_group_under_the_deployment() -> None:
    h = Harness()
    crash = [raw.container(waiting="CrashLoopBackOff")]
    h.feed("Pod", raw.pod("checkout-1", containers=crash, ready=False))
    h.feed("ReplicaSet", raw.replicaset("checkout-7d9f", "checkout"))
    kinds = [(a.key.kind, a.key.name) for a in h.detector.open_anomalies()]
    assert kinds == [("Deployment", "checkout")]


def test_initial_list_opens_only_what_is_wrong_now() -> None:
    h = Harness()
    healthy = [raw.pod(f"ok-{i}", owner=None) for i in range(200)]
    broken = _bare("broken", containers=[raw.container(waiting="ImagePullBackOff")], ready=False)
    h.state.replace("Pod", [*healthy, broken])
    h.state.replace("Node", [raw.node(f"n{i}") for i in range(20)])
    h.detector.process(h.subscription.take())
    assert h.log() == [("opened", "ImagePullBackOff", "broken", 1)]


def test_an_anomaly_that_stays_the_same_emits_nothing_more() -> None:
    h = Harness()
    crash = [raw.container(waiting="CrashLoopBackOff", restarts=3)]
    h.feed("Pod", _bare("p", containers=crash, ready=False))
    h.feed("Pod", _bare("p", containers=crash, ready=False))
    assert [t[0] for t in h.log()] == ["opened"]
