"""Every kind of record goes in and comes back as it was, from a real file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from headless_agent.detect.anomaly import Severity, TransitionType
from headless_agent.store import (
    AuditEntry,
    HistoryStore,
    NodeSampleBlock,
    NodeSamples,
    OutboxAlert,
    PodRestartObservation,
    SeriesKind,
    SeriesSelector,
    SloWindow,
    UnknownCluster,
    cluster_identity,
    series_name,
)
from tests.store.conftest import FAST, T0, Clock, anomaly, transition, warning

OPENED, UPDATED, RESOLVED = TransitionType.OPENED, TransitionType.UPDATED, TransitionType.RESOLVED


def _reopen(store: HistoryStore, clock: Clock) -> HistoryStore:
    """Close the file and open it again: what a query sees must come from the disk."""
    store.close()
    return HistoryStore.open(store.path, clock=clock, options=FAST)


# --- anomalies -----------------------------------------------------------------------------


def test_an_anomaly_episode_keeps_its_whole_lifecycle(store: HistoryStore, clock: Clock) -> None:
    clock.now = T0 + 5
    store.record_transition("prod", transition(OPENED, first_seen=T0))
    clock.now = T0 + 65
    store.record_transition("prod", transition(UPDATED, first_seen=T0, last_seen=T0 + 60, count=3))
    clock.now = T0 + 300
    store.record_transition(
        "prod", transition(RESOLVED, first_seen=T0, last_seen=T0 + 290, resolved_at=T0 + 295)
    )
    store = _reopen(store, clock)
    try:
        (episode,) = store.anomaly_timeline("prod", T0 - 3600, T0 + 3600)
    finally:
        store.close()
    assert (episode.kind, episode.namespace, episode.name, episode.reason) == (
        "Deployment",
        "shop",
        "checkout",
        "CrashLoopBackOff",
    )
    assert episode.severity is Severity.CRITICAL
    assert (episode.first_seen, episode.last_seen, episode.resolved_at) == (T0, T0 + 290, T0 + 295)
    assert episode.message_id == "anomaly.crashloop"
    assert dict(episode.params) == {"container": "main", "restarts": "3"}
    assert episode.message == anomaly().message
    assert [(t.type, t.at, t.count) for t in episode.transitions] == [
        ("opened", T0 + 5, 1),
        ("updated", T0 + 65, 3),
        ("resolved", T0 + 300, 1),
    ]
    assert episode.transitions[1].params == (("container", "main"), ("restarts", "9"))


def test_the_timeline_holds_what_was_open_at_some_moment_of_the_range(
    store: HistoryStore,
) -> None:
    early = dict(reason="ImagePullBackOff", first_seen=T0, resolved_at=T0 + 100)
    store.record_transition("prod", transition(OPENED, **early))
    store.record_transition("prod", transition(RESOLVED, **early))
    store.record_transition("prod", transition(OPENED, reason="OOMKilled", first_seen=T0 + 500))
    late = dict(reason="Evicted", first_seen=T0 + 5000)
    store.record_transition("prod", transition(OPENED, **late))
    store.flush()

    def reasons(start: float, end: float) -> list[str]:
        return [e.reason for e in store.anomaly_timeline("prod", start, end)]

    assert reasons(T0 + 200, T0 + 1000) == ["OOMKilled"]  # the first ended before
    assert reasons(T0 + 50, T0 + 1000) == ["ImagePullBackOff", "OOMKilled"]
    assert reasons(T0 + 6000, T0 + 7000) == ["OOMKilled", "Evicted"]  # still open
    assert reasons(T0 - 1000, T0 - 1) == []
    assert [e.reason for e in store.anomaly_timeline("prod", 0, 2e9, open_only=True)] == [
        "OOMKilled",
        "Evicted",
    ]


def test_an_anomaly_opened_again_while_open_continues_its_episode(store: HistoryStore) -> None:
    # The app restarted: detection opens the same problem again from its first LIST.
    store.record_transition("prod", transition(OPENED, first_seen=T0))
    store.record_transition("prod", transition(OPENED, first_seen=T0 + 10, last_seen=T0 + 900))
    store.flush()
    (episode,) = store.anomaly_timeline("prod", T0, T0 + 1000)
    assert episode.first_seen == T0 and episode.last_seen == T0 + 900
    assert [t.type for t in episode.transitions] == ["opened", "continued"]


def test_episodes_that_ended_while_nobody_watched_are_closed(
    store: HistoryStore, clock: Clock
) -> None:
    store.record_transition("prod", transition(OPENED, reason="OOMKilled"))
    store.record_transition("prod", transition(OPENED, reason="Evicted"))
    clock.now = T0 + 86_400
    store.reconcile_open_anomalies("prod", [anomaly(reason="Evicted")])
    store.flush()
    episodes = {e.reason: e for e in store.anomaly_timeline("prod", T0, T0 + 86_400)}
    assert episodes["OOMKilled"].resolved_at == T0 + 86_400
    assert episodes["OOMKilled"].transitions[-1].type == "resolved_unseen"
    assert episodes["Evicted"].is_open


# --- clusters ------------------------------------------------------------------------------


def test_history_follows_the_cluster_when_its_context_is_renamed(store: HistoryStore) -> None:
    store.bind_cluster("prod", cluster_identity("kube-system-uid-1", "prod"))
    store.record_transition("prod", transition(OPENED, reason="OOMKilled"))
    # The user renamed the context; the kube-system namespace's UID is the same.
    store.bind_cluster("prod-eu", cluster_identity("kube-system-uid-1", "prod-eu"))
    store.record_transition("prod-eu", transition(OPENED, reason="Evicted", first_seen=T0 + 60))
    store.flush()
    reasons = [e.reason for e in store.anomaly_timeline("prod-eu", T0, T0 + 100)]
    assert reasons == ["OOMKilled", "Evicted"]
    assert [e.reason for e in store.anomaly_timeline("prod", T0, T0 + 100)] == reasons  # alias
    (cluster,) = store.clusters()
    assert cluster.identity == "uid:kube-system-uid-1"
    assert cluster.display_name == "prod-eu"
    assert set(cluster.names) == {"prod", "prod-eu"}


def test_history_recorded_before_the_identity_was_known_joins_the_cluster(
    store: HistoryStore,
) -> None:
    # Detection can open anomalies before the namespaces were listed.
    store.record_transition("staging", transition(OPENED, reason="OOMKilled"))
    store.record_events("staging", [warning("ev-1")])
    store.bind_cluster("staging", cluster_identity("uid-2", "staging"))
    store.record_transition("staging", transition(OPENED, reason="Evicted"))
    store.flush()
    (cluster,) = store.clusters()
    assert cluster.identity == "uid:uid-2"
    assert {e.reason for e in store.anomaly_timeline("staging", T0, T0 + 1)} == {
        "OOMKilled",
        "Evicted",
    }
    assert len(store.search_events("staging")) == 1


def test_a_new_cluster_behind_an_old_name_starts_its_own_history(store: HistoryStore) -> None:
    store.bind_cluster("dev", cluster_identity("uid-old", "dev"))
    store.record_transition("dev", transition(OPENED, reason="OOMKilled"))
    store.bind_cluster("dev", cluster_identity("uid-new", "dev"))  # cluster re-created
    store.record_transition("dev", transition(OPENED, reason="Evicted"))
    store.flush()
    assert [e.reason for e in store.anomaly_timeline("uid:uid-new", T0, T0 + 1)] == ["Evicted"]
    assert [e.reason for e in store.anomaly_timeline("uid:uid-old", T0, T0 + 1)] == ["OOMKilled"]


def test_asking_for_an_unknown_cluster_says_so(store: HistoryStore) -> None:
    with pytest.raises(UnknownCluster, match="nowhere"):
        store.anomaly_timeline("nowhere", T0, T0 + 1)


# --- events --------------------------------------------------------------------------------


def test_a_resync_never_inflates_an_event_count(store: HistoryStore) -> None:
    store.record_events("prod", [warning("ev-1", count=5, last=T0)])
    for _ in range(3):  # relists deliver the same object again and again
        store.record_events("prod", [warning("ev-1", count=5, last=T0)])
    store.flush()
    (event,) = store.search_events("prod")
    assert event.count == 5
    store.record_events("prod", [warning("ev-1", count=7, last=T0 + 60)])
    store.record_events("prod", [warning("ev-1", count=6, last=T0 + 30)])  # an older copy
    store.flush()
    (event,) = store.search_events("prod")
    assert (event.count, event.last_seen, event.first_seen) == (7, T0 + 60, T0 - 60)


def test_only_warning_events_are_kept(store: HistoryStore) -> None:
    store.record_events("prod", [warning("ev-1"), warning("ev-2", kind="Normal")])
    store.flush()
    assert [e.name for e in store.search_events("prod")] == ["ev-1"]


def test_events_are_found_by_object_reason_and_text(store: HistoryStore) -> None:
    store.record_events(
        "prod",
        [
            warning("ev-1", "BackOff", obj="checkout-1", last=T0, message="Back-off restarting"),
            warning("ev-2", "FailedScheduling", obj="cart-1", last=T0 + 10, message="0/3 nodes"),
            warning("ev-3", "OOMKilling", obj="cart-2", last=T0 + 20, message="内存不足: 终止"),
            warning("ev-4", "BackOff", obj="cart-1", last=T0 + 30, message="Back-off pulling"),
        ],
    )
    store.record_events("dev", [warning("ev-5", "BackOff", obj="cart-1", last=T0 + 40)])
    store.flush()

    def names(**query: object) -> list[str]:
        return [e.name for e in store.search_events("prod", **query)]  # type: ignore[arg-type]

    assert names(object_name="cart-1") == ["ev-4", "ev-2"]  # newest first
    assert names(object_name="cart*") == ["ev-4", "ev-3", "ev-2"]
    assert names(reason="BackOff") == ["ev-4", "ev-1"]
    assert names(text="back-off PULL") == ["ev-4"]  # a substring, any case
    assert names(text="OOMKill") == ["ev-3"]  # part of a word
    assert names(text="内存不足") == ["ev-3"]
    assert names(text="0/") == ["ev-2"]  # shorter than the index's trigrams
    assert names(text='"quoted" AND NOT') == []  # the user's text is never query syntax
    assert names(since=T0 + 15, until=T0 + 25) == ["ev-4", "ev-3"]  # seen in that range
    assert [e.cluster for e in store.search_events(None, object_name="cart-1")] == [
        "dev",
        "prod",
        "prod",
    ]


# --- node metrics and pod restarts ---------------------------------------------------------


def test_node_samples_come_back_exactly(store: HistoryStore, clock: Clock) -> None:
    cpu = series_name("cpu_seconds_total", {"mode": "user", "cpu": "0"})
    assert cpu == 'cpu_seconds_total{cpu="0",mode="user"}'
    scrapes = [
        NodeSamples(
            "node-1",
            T0 + 15 * i,
            gauges={"memory_used_bytes": 8e9 + 4096 * i, "load1": round(0.37 * i, 2)},
            counters={cpu: round(1000 + 2.5 * i, 2)},
        )
        for i in range(20)
    ]
    store.record_node_samples("prod", scrapes)
    block = NodeSampleBlock(
        "node-2",
        np.array([T0 + 15 * i + 0.123 for i in range(20)]),
        ["temperature_celsius", "weird"],
        np.array([[55.5 + i / 10, np.pi * i if i % 3 else np.nan] for i in range(20)]),
    )
    store.record_node_samples("prod", block)
    clock.now = T0 + 400
    store = _reopen(store, clock)
    try:
        listed = store.list_series(SeriesSelector("prod"))
        got = {
            (p.series.node, p.series.name): p
            for p in store.query_series(SeriesSelector("prod"), T0, T0 + 300, resolution="raw")
        }
    finally:
        store.close()
    assert [(s.node, s.name, s.kind) for s in listed] == [
        ("node-1", cpu, SeriesKind.COUNTER),
        ("node-1", "load1", SeriesKind.GAUGE),
        ("node-1", "memory_used_bytes", SeriesKind.GAUGE),
        ("node-2", "temperature_celsius", SeriesKind.GAUGE),
        ("node-2", "weird", SeriesKind.GAUGE),
    ]
    memory = got[("node-1", "memory_used_bytes")]
    assert memory.times.tolist() == [T0 + 15 * i for i in range(20)]
    assert memory.average.tolist() == [8e9 + 4096 * i for i in range(20)]
    assert got[("node-1", "load1")].average.tolist() == [round(0.37 * i, 2) for i in range(20)]
    assert got[("node-1", cpu)].average.tolist() == pytest.approx([2.5 / 15] * 19)
    temperature = got[("node-2", "temperature_celsius")]
    assert temperature.times.tolist() == [T0 + 15 * i + 0.123 for i in range(20)]
    assert temperature.average.tolist() == [55.5 + i / 10 for i in range(20)]
    weird = got[("node-2", "weird")]  # full-precision doubles, with gaps
    assert weird.average.tolist() == [np.pi * i for i in range(20) if i % 3]


def test_pod_restarts_are_kept_as_changes_of_the_count(store: HistoryStore) -> None:
    def seen(count: int, at: float, uid: str = "pod-uid-1") -> PodRestartObservation:
        return PodRestartObservation(
            uid, "shop", "checkout-1", count, at, "Deployment", "checkout", "node-1", "OOMKilled"
        )

    store.record_pod_restarts("prod", [seen(2, T0)])
    store.record_pod_restarts("prod", [seen(2, T0 + 10)])  # unchanged: nothing new
    store.record_pod_restarts("prod", [seen(5, T0 + 20)])
    store.record_pod_restarts("prod", [seen(1, T0 + 30, uid="pod-uid-2")])  # a new pod
    store.flush()
    restarts = store.pod_restarts("prod", T0, T0 + 100, owner=("Deployment", "checkout"))
    assert [
        (r.observation.restart_count, r.increase, r.observation.observed_at) for r in restarts
    ] == [
        (2, 2, T0),
        (5, 3, T0 + 20),
        (1, 1, T0 + 30),
    ]
    assert restarts[0].observation.last_reason == "OOMKilled"
    assert store.pod_restarts("prod", T0 + 15, T0 + 25, pod="checkout-1")[0].increase == 3


# --- SLO windows, audit log, alert outbox --------------------------------------------------


def test_slo_windows_round_trip_and_a_recomputed_window_replaces_the_old(
    store: HistoryStore,
) -> None:
    store.record_slo_window("prod", SloWindow("checkout-availability", T0, 300, 990, 1000))
    store.record_slo_window("prod", SloWindow("checkout-availability", T0 + 300, 300, 10, 10))
    store.record_slo_window("prod", SloWindow("checkout-availability", T0, 300, 995, 1000))
    store.flush()
    assert store.slo_windows("prod", "checkout-availability", T0, T0 + 600) == [
        SloWindow("checkout-availability", T0, 300, 995, 1000),
        SloWindow("checkout-availability", T0 + 300, 300, 10, 10),
    ]


def test_audit_entries_round_trip(store: HistoryStore) -> None:
    entry = AuditEntry(
        T0,
        "alice",
        "scale",
        "ok",
        "prod",
        "Deployment",
        "shop",
        "checkout",
        {"replicas": 3, "from": 2},
        "scaled in 1.2 s",
    )
    store.record_audit(entry)
    store.record_audit(AuditEntry(T0 + 5, "bob", "restart", "denied", None))
    store.flush()
    assert store.audit_log(T0, T0 + 10, cluster="prod") == [entry]
    assert [e.actor for e in store.audit_log(T0, T0 + 10)] == ["alice", "bob"]
    assert store.audit_log(T0, T0 + 10, action="restart")[0].outcome == "denied"


def test_the_alert_outbox_keeps_one_alert_per_key_until_delivered(store: HistoryStore) -> None:
    alert = OutboxAlert("slack", "prod/checkout/CrashLoop", {"text": "checkout crashes"}, T0)
    store.enqueue_alert(alert)
    store.enqueue_alert(alert)  # the same alert again: still one
    store.enqueue_alert(OutboxAlert("smtp", "prod/cart/OOM", {"subject": "cart"}, T0 + 1))
    store.flush()
    assert store.alert_outbox(due_before=T0 + 5) == [
        OutboxAlert(
            "slack", "prod/checkout/CrashLoop", {"text": "checkout crashes"}, T0, next_attempt_at=T0
        ),
        OutboxAlert("smtp", "prod/cart/OOM", {"subject": "cart"}, T0 + 1, next_attempt_at=T0 + 1),
    ]
    store.mark_alert_failed("smtp", "prod/cart/OOM", "connection refused", retry_at=T0 + 60)
    store.mark_alert_delivered("slack", "prod/checkout/CrashLoop", T0 + 2)
    store.flush()
    assert store.alert_outbox(due_before=T0 + 5) == []
    (retry,) = store.alert_outbox(due_before=T0 + 60)
    assert (retry.attempts, retry.last_error) == (1, "connection refused")
    (done,) = store.alert_outbox(states=("delivered",))
    assert (done.delivered_at, done.attempts) == (T0 + 2, 1)
    store.mark_alert_failed("smtp", "prod/cart/OOM", "550 no such user")  # give up
    store.flush()
    assert [a.state for a in store.alert_outbox(states=("failed",))] == ["failed"]


def test_a_bad_record_is_reported_and_the_rest_of_its_batch_is_kept(
    tmp_path: Path, clock: Clock
) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST) as store:
        store.record_slo_window("prod", SloWindow("a", T0, 300, 1, 1))
        store.record_audit(AuditEntry(T0, None, "x", "ok"))  # type: ignore[arg-type]
        store.record_slo_window("prod", SloWindow("b", T0, 300, 1, 1))
        store.flush()
        assert store.status.failed_jobs == 1
        assert "audit" in store.status.last_error or "NOT NULL" in store.status.last_error
        assert len(store.slo_windows("prod", "a", T0, T0)) == 1
        assert len(store.slo_windows("prod", "b", T0, T0)) == 1
