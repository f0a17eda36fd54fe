"""Retention: each kind of data is kept as long (and as big) as set, and no longer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from headless_agent.detect.anomaly import TransitionType
from headless_agent.store import (
    AuditEntry,
    HistoryStore,
    NodeSampleBlock,
    OutboxAlert,
    PodRestartObservation,
    RetentionRule,
    SeriesLayout,
    SeriesSelector,
    SloWindow,
    TierSpec,
)
from headless_agent.store.conversations import ConversationInfo, ConversationMessage
from tests.store.conftest import DAY, FAST, T0, Clock, transition, warning

NOW = T0 + 400 * DAY


@pytest.mark.parametrize(
    ("kind", "max_age"),
    [
        ("events", 90 * DAY),
        ("anomalies", 365 * DAY),
        ("pod_restarts", 90 * DAY),
        ("audit", 730 * DAY),
        ("alerts", 30 * DAY),
        ("slo", 400 * DAY),
        ("conversations", 90 * DAY),
    ],
)
def test_records_just_inside_their_age_stay_and_just_outside_go(
    tmp_path: Path, kind: str, max_age: float
) -> None:
    clock = Clock(NOW)
    inside, outside = NOW - max_age + 60, NOW - max_age - 60
    with HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST) as store:
        assert store.retention()[kind] == RetentionRule(max_age)
        # Oldest first, as things happen (the audit log drops a prefix of its chain).
        for name, at in (("outside", outside), ("inside", inside)):
            _record(store, kind, name, at)
        store.flush()
        assert _names(store, kind) == {"inside", "outside"}
        store.run_retention()
        assert _names(store, kind) == {"inside"}


def _record(store: HistoryStore, kind: str, name: str, at: float) -> None:
    if kind == "events":
        store.record_events("prod", [warning(name, last=at)])
    elif kind == "anomalies":
        episode = dict(name=name, first_seen=at - 10, resolved_at=at)
        store.record_transition("prod", transition(TransitionType.OPENED, **episode))
        store.record_transition("prod", transition(TransitionType.RESOLVED, **episode))
    elif kind == "pod_restarts":
        store.record_pod_restarts("prod", [PodRestartObservation(name, "shop", name, 1, at)])
    elif kind == "audit":
        store.record_audit(AuditEntry(at, "alice", name, "ok", "prod"))
    elif kind == "alerts":
        store.enqueue_alert(OutboxAlert("slack", name, {}, at))
        store.mark_alert_delivered("slack", name, at + 1)
    elif kind == "slo":
        store.record_slo_window("prod", SloWindow(name, at - 300, 300, 1, 1))
    elif kind == "conversations":
        store.record_conversation(ConversationInfo(name, at - 600, "prod", "en", name))
        for offset, role in ((-600, "user"), (0, "assistant")):
            store.record_conversation_message(ConversationMessage(name, at + offset, role, "…"))


def _names(store: HistoryStore, kind: str) -> set[str]:
    everything = (0.0, 2e10)
    if kind == "events":
        return {e.name for e in store.search_events("prod")}
    if kind == "anomalies":
        return {e.name for e in store.anomaly_timeline("prod", *everything)}
    if kind == "pod_restarts":
        return {r.observation.pod for r in store.pod_restarts("prod", *everything)}
    if kind == "audit":
        return {e.action for e in store.audit_log(*everything)}
    if kind == "alerts":
        return {a.dedup_key for a in store.alert_outbox(states=("delivered",))}
    if kind == "conversations":
        # A conversation goes whole or not at all: its messages with it.
        kept = {c.key for c in store.conversations()}
        assert all(len(store.conversation_messages(key)) == 2 for key in kept)
        return kept
    return {
        w.slo for slo in ("inside", "outside") for w in store.slo_windows("prod", slo, *everything)
    }


def test_an_open_anomaly_or_a_pending_alert_is_never_dropped_for_age(tmp_path: Path) -> None:
    clock = Clock(NOW)
    with HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST) as store:
        old = NOW - 1000 * DAY
        store.record_transition("prod", transition(TransitionType.OPENED, first_seen=old))
        store.enqueue_alert(OutboxAlert("slack", "stuck", {}, old))
        store.run_retention()
        assert len(store.anomaly_timeline("prod", 0, NOW)) == 1
        assert len(store.alert_outbox()) == 1


LAYOUT = SeriesLayout(
    raw=TierSpec("raw", 1.0, 8.0, 40.0),
    rollups=(TierSpec("a", 2.0, 16.0, 120.0), TierSpec("b", 4.0, 32.0, 10 * DAY)),
    seal_delay=1.0,
    idle_seal_delay=2.0,
    max_rate_gap=5.0,
)


def test_each_metrics_tier_keeps_its_own_age(tmp_path: Path) -> None:
    clock = Clock(T0)
    path = tmp_path / "h.sqlite3"
    start = 1_700_000_000.0  # a window boundary
    times = start + np.arange(300.0)
    with HistoryStore.open(path, layout=LAYOUT, clock=clock, options=FAST) as store:
        for second in range(0, 300, 10):  # ten seconds at a time, as a node would send them
            part = times[second : second + 10]
            clock.now = part[-1] + 1
            values = np.round(part[:, None] % 7, 1)
            store.record_node_samples("prod", NodeSampleBlock("n1", part, ["load1"], values))
            store.flush()
        clock.now = times[-1] + 10
        store.settle()
        store.run_retention()
        kept = {
            tier: store.query_series(
                SeriesSelector("prod"), start, clock.now, resolution=tier, max_points=10**6
            )[0].times
            for tier in ("raw", "a", "b")
        }
    # Raw samples for the last 40 s, 2-s points for the last 120 s, 4-s points for all.
    assert kept["raw"][0] >= clock.now - 40 and kept["raw"][0] <= clock.now - 40 + 1
    assert kept["a"][0] >= clock.now - 120 and kept["a"][0] <= clock.now - 120 + 2
    assert kept["b"][0] == start
    connection = sqlite3.connect(path)
    oldest_raw = connection.execute("SELECT MIN(start) FROM chunks_raw").fetchone()[0]
    connection.close()
    assert oldest_raw / 1000 >= clock.now - 40 - 8  # older chunks are gone from the file


def test_a_backfill_older_than_raw_history_still_builds_its_rollups(tmp_path: Path) -> None:
    clock = Clock(T0)
    with HistoryStore.open(tmp_path / "h.sqlite3", layout=LAYOUT, clock=clock, options=FAST) as s:
        # An agent hands over what it buffered while the laptop was closed for days.
        old = T0 - 5 * DAY + np.arange(64.0)
        s.record_node_samples("prod", NodeSampleBlock("n1", old, ["x"], np.ones((64, 1))))
        s.settle()
        s.run_retention()
        everything = (old[0], old[-1])
        raw = s.query_series(SeriesSelector("prod"), *everything, resolution="raw", max_points=999)
        coarse = s.query_series(SeriesSelector("prod"), *everything, resolution="b", max_points=99)
    assert len(raw[0]) == 0  # older than raw samples are kept
    assert len(coarse[0]) == 16 and (coarse[0].average == 1.0).all()


def test_a_size_budget_keeps_the_newest_and_the_file_shrinks(tmp_path: Path) -> None:
    clock = Clock(T0 + 1000)
    path = tmp_path / "h.sqlite3"
    with HistoryStore.open(path, clock=clock, options=FAST) as store:
        for batch in range(10):
            store.record_events(
                "prod",
                [
                    warning(f"ev-{batch}-{i}", last=T0 + batch * 100 + i / 10, message="x" * 400)
                    for i in range(300)
                ],
            )
        store.flush()
        store.run_retention()  # hand back whatever migrations left free
        before = store.size_report()
        assert before.kinds["events"].bytes > 1_000_000
        file_before = path.stat().st_size + Path(f"{path}-wal").stat().st_size
        store.set_retention("events", RetentionRule(90 * DAY, 300_000))
        store.run_retention()
        after = store.size_report()
        kept = store.search_events("prod", limit=10_000)
    assert after.kinds["events"].bytes <= 300_000
    assert after.kinds["events"].rule == RetentionRule(90 * DAY, 300_000)
    assert 0 < len(kept) < 3000
    assert max(e.last_seen or 0 for e in kept) == T0 + 929  # the newest are the ones kept
    assert min(e.last_seen or 0 for e in kept) > T0  # the oldest went
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert path.stat().st_size < file_before / 2  # pages went back to the file system


def test_retention_settings_survive_a_restart_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore.open(path, options=FAST) as store:
        store.set_retention("metrics.1m", RetentionRule(7 * DAY, 10**9))
        with pytest.raises(ValueError, match="unknown kind"):
            store.set_retention("emails", RetentionRule(1.0))
        with pytest.raises(ValueError, match="positive"):
            store.set_retention("events", RetentionRule(-5.0))
    with HistoryStore.open(path, options=FAST) as store:
        assert store.retention()["metrics.1m"] == RetentionRule(7 * DAY, 10**9)
        report = store.size_report()
    assert set(report.kinds) == {
        "anomalies",
        "events",
        "pod_restarts",
        "slo",
        "audit",
        "alerts",
        "conversations",
        "metrics.raw",
        "metrics.1m",
        "metrics.5m",
        "metrics.1h",
    }
    assert report.file_bytes > 0 and report.other_bytes > 0
