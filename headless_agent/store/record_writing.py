"""Writing clusters, anomalies, events, pod restarts, SLO windows, audit entries, alerts.

Every function runs on the writer thread inside its open transaction. Writes are
idempotent where the source may repeat itself: a resync re-delivers every Warning event,
and an event's count is *set* from the object (the API's count is cumulative), never
added, so replaying a LIST cannot inflate it; an anomaly that opens again while its
episode is still open continues that episode.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from headless_agent.detect.anomaly import Transition, TransitionType
from headless_agent.store import audit
from headless_agent.store.identity import ClusterIdentity, provisional_identity
from headless_agent.store.records import AuditEntry, OutboxAlert, PodRestartObservation, SloWindow

if TYPE_CHECKING:  # the state package pulls in the Kubernetes client; the store needs none
    from headless_agent.state.records import EventRecord

log = logging.getLogger(__name__)

#: tables whose rows belong to a cluster, and so move when a provisional identity is folded
CLUSTER_TABLES = (
    "anomalies",
    "warning_events",
    "series_sources",
    "pod_restarts",
    "slo_windows",
    "audit_log",
)


class ClusterRegistry:
    """Display names → cluster rows, keyed by identity (see ``identity``)."""

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        self._bindings: dict[str, ClusterIdentity] = {}
        self._ids: dict[str, int] = {}
        #: called after rows moved from one cluster id to another (caches must go)
        self.on_merge: Callable[[], None] = lambda: None

    def reset(self) -> None:
        self._ids.clear()

    def _ensure(self, identity: ClusterIdentity) -> int:
        found = self._ids.get(identity.key)
        now = self._clock()
        if found is None:
            row = self._db.execute(
                "SELECT id, display_name FROM clusters WHERE identity = ?", (identity.key,)
            ).fetchone()
            if row is None:
                cursor = self._db.execute(
                    "INSERT INTO clusters (identity, display_name, kube_system_uid, first_seen, "
                    "last_seen) VALUES (?, ?, ?, ?, ?)",
                    (identity.key, identity.display_name, identity.kube_system_uid, now, now),
                )
                found = int(cursor.lastrowid or 0)
            else:
                found = int(row[0])
                if row[1] != identity.display_name:  # renamed context: the label follows
                    self._db.execute(
                        "UPDATE clusters SET display_name = ? WHERE id = ?",
                        (identity.display_name, found),
                    )
            self._db.execute(
                "INSERT INTO cluster_names (name, cluster_id, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (name, cluster_id) DO UPDATE SET last_seen = excluded.last_seen",
                (identity.display_name, found, now),
            )
            self._ids[identity.key] = found
        return found

    def bind(self, name: str, identity: ClusterIdentity) -> int:
        """From now on, history recorded under ``name`` belongs to ``identity``. History
        recorded under a provisional identity of that name is folded into it."""
        self._bindings[name] = identity
        cluster_id = self._ensure(identity)
        now = self._clock()
        self._db.execute(
            "UPDATE clusters SET display_name = ?, last_seen = ? WHERE id = ?",
            (identity.display_name, now, cluster_id),
        )
        self._db.execute(
            "INSERT INTO cluster_names (name, cluster_id, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (name, cluster_id) DO UPDATE SET last_seen = excluded.last_seen",
            (identity.display_name, cluster_id, now),
        )
        if not identity.is_provisional:
            self._fold(provisional_identity(name), cluster_id)
        return cluster_id

    def _fold(self, provisional: ClusterIdentity, target: int) -> None:
        row = self._db.execute(
            "SELECT id FROM clusters WHERE identity = ?", (provisional.key,)
        ).fetchone()
        if row is None or row[0] == target:
            return
        source = int(row[0])
        for table in CLUSTER_TABLES:
            # OR IGNORE: a row that would collide (the same event stored under both) stays
            # with the provisional cluster rather than being lost.
            self._db.execute(
                f"UPDATE OR IGNORE {table} SET cluster_id = ? WHERE cluster_id = ?",
                (target, source),
            )
        left = sum(
            self._db.execute(
                f"SELECT COUNT(*) FROM {t} WHERE cluster_id = ?", (source,)
            ).fetchone()[0]
            for t in CLUSTER_TABLES
        )
        if left == 0:
            self._db.execute("DELETE FROM cluster_names WHERE cluster_id = ?", (source,))
            self._db.execute("DELETE FROM clusters WHERE id = ?", (source,))
        else:
            log.warning("%d rows of %s stay apart (they collide)", left, provisional.key)
        self._ids.pop(provisional.key, None)
        self.on_merge()

    def cluster_id(self, name: str) -> int:
        """The cluster a display name currently stands for (provisional if never bound)."""
        identity = self._bindings.get(name) or provisional_identity(name)
        return self._ensure(identity)


def record_transition(
    db: sqlite3.Connection, cluster_id: int, transition: Transition, at: float
) -> None:
    anomaly = transition.anomaly
    key = anomaly.key
    where = (cluster_id, key.kind, key.namespace, key.name, key.reason)
    row = db.execute(
        "SELECT id FROM anomalies WHERE cluster_id = ? AND kind = ? AND namespace = ? "
        "AND name = ? AND reason = ? AND resolved_at IS NULL",
        where,
    ).fetchone()
    resolved_at = None
    if transition.type is TransitionType.RESOLVED:
        resolved_at = anomaly.resolved_at if anomaly.resolved_at is not None else at
    members = json.dumps(list(anomaly.members))
    params = json.dumps([list(p) for p in anomaly.params])
    if row is None:
        cursor = db.execute(
            "INSERT INTO anomalies (cluster_id, kind, namespace, name, reason, severity, "
            "message, message_id, params, first_seen, last_seen, resolved_at, count, members) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *where,
                int(anomaly.severity),
                anomaly.message,
                anomaly.message_id,
                params,
                anomaly.first_seen,
                anomaly.last_seen,
                resolved_at,
                anomaly.count,
                members,
            ),
        )
        anomaly_id = int(cursor.lastrowid or 0)
    else:
        anomaly_id = int(row[0])
        db.execute(
            "UPDATE anomalies SET severity = ?, message = ?, message_id = ?, params = ?, "
            "first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?), resolved_at = ?, "
            "count = ?, members = ? WHERE id = ?",
            (
                int(anomaly.severity),
                anomaly.message,
                anomaly.message_id,
                params,
                anomaly.first_seen,
                anomaly.last_seen,
                resolved_at,
                anomaly.count,
                members,
                anomaly_id,
            ),
        )
    kind_of_transition = transition.type.value
    if row is not None and transition.type is TransitionType.OPENED:
        # Opened again while the stored episode is open: AtlHyper restarted and found it
        # still going on. One episode, marked as seen again.
        kind_of_transition = "continued"
    db.execute(
        "INSERT INTO anomaly_transitions (anomaly_id, at, type, severity, message, "
        "message_id, params, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            anomaly_id,
            at,
            kind_of_transition,
            int(anomaly.severity),
            anomaly.message,
            anomaly.message_id,
            params,
            anomaly.count,
        ),
    )


def close_missing_anomalies(
    db: sqlite3.Connection, cluster_id: int, still_open: set[tuple[str, str, str, str]], at: float
) -> int:
    """Resolve stored open episodes whose (kind, namespace, name, reason) is not in
    ``still_open``: they ended while nobody watched. Returns how many were closed."""
    closed = 0
    for anomaly_id, kind, namespace, name, reason in db.execute(
        "SELECT id, kind, namespace, name, reason FROM anomalies "
        "WHERE cluster_id = ? AND resolved_at IS NULL",
        (cluster_id,),
    ).fetchall():
        if (kind, namespace, name, reason) in still_open:
            continue
        db.execute("UPDATE anomalies SET resolved_at = ? WHERE id = ?", (at, anomaly_id))
        # The closing transition says it was not seen: the end happened at some unknown
        # moment before ``at``.
        db.execute(
            "INSERT INTO anomaly_transitions (anomaly_id, at, type, severity, message, "
            "message_id, params, count) SELECT id, ?, 'resolved_unseen', severity, message, "
            "message_id, params, count FROM anomalies WHERE id = ?",
            (at, anomaly_id),
        )
        closed += 1
    return closed


def event_key(event: EventRecord) -> str:
    """An Event's identity: its UID, or namespace/name for an object without one."""
    return event.uid or f"{event.namespace}/{event.name}"


def record_events(db: sqlite3.Connection, cluster_id: int, events: Iterable[EventRecord]) -> None:
    db.executemany(
        "INSERT INTO warning_events (cluster_id, event_key, namespace, name, reason, message, "
        "object_kind, object_namespace, object_name, object_uid, count, first_seen, last_seen, "
        "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (cluster_id, event_key) DO UPDATE SET "
        # The object's count is cumulative: keep the largest seen, never add.
        "count = MAX(count, excluded.count), "
        "first_seen = MIN(COALESCE(first_seen, excluded.first_seen), "
        "COALESCE(excluded.first_seen, first_seen)), "
        "message = CASE WHEN COALESCE(excluded.last_seen, 0) >= COALESCE(last_seen, 0) "
        "THEN excluded.message ELSE message END, "
        "reason = excluded.reason, "
        "last_seen = MAX(COALESCE(last_seen, excluded.last_seen), "
        "COALESCE(excluded.last_seen, last_seen))",
        [
            (
                cluster_id,
                event_key(e),
                e.namespace,
                e.name,
                e.reason,
                e.message,
                e.object_kind,
                e.object_namespace,
                e.object_name,
                e.object_uid,
                e.count,
                e.first_seen,
                e.last_seen,
                e.source,
            )
            for e in events
            if e.type == "Warning"
        ],
    )


def record_pod_restarts(
    db: sqlite3.Connection,
    cluster_id: int,
    observations: Iterable[PodRestartObservation],
    last_counts: dict[tuple[int, str], int],
) -> None:
    """Store observations whose count differs from the pod's last stored one."""
    for seen in observations:
        slot = (cluster_id, seen.pod_uid)
        previous = last_counts.get(slot)
        if previous is None:
            row = db.execute(
                "SELECT restart_count FROM pod_restarts WHERE cluster_id = ? AND pod_uid = ? "
                "ORDER BY observed_at DESC, id DESC LIMIT 1",
                slot,
            ).fetchone()
            previous = int(row[0]) if row else 0
        if seen.restart_count == previous and previous != 0:
            continue
        if seen.restart_count == 0 and previous == 0:
            last_counts[slot] = 0
            continue
        # Counts of one pod only grow; a smaller one means the pod object was replaced.
        increase = seen.restart_count - previous if seen.restart_count >= previous else 0
        db.execute(
            "INSERT INTO pod_restarts (cluster_id, pod_uid, namespace, pod, owner_kind, "
            "owner_name, node, observed_at, restart_count, increase, last_reason, "
            "last_restart_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cluster_id,
                seen.pod_uid,
                seen.namespace,
                seen.pod,
                seen.owner_kind,
                seen.owner_name,
                seen.node,
                seen.observed_at,
                seen.restart_count,
                increase,
                seen.last_reason,
                seen.last_restart_at,
            ),
        )
        last_counts[slot] = seen.restart_count


def record_slo_window(db: sqlite3.Connection, cluster_id: int, window: SloWindow) -> None:
    db.execute(
        "INSERT INTO slo_windows (cluster_id, slo, window_start, window_seconds, good, total, "
        "statuses, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (cluster_id, slo, window_start, window_seconds) "
        "DO UPDATE SET good = excluded.good, total = excluded.total, "
        "statuses = excluded.statuses, latency = excluded.latency",
        (
            cluster_id,
            window.slo,
            window.window_start,
            window.window_seconds,
            window.good,
            window.total,
            json.dumps(window.statuses) if window.statuses else "",
            json.dumps(window.latency) if window.latency else "",
        ),
    )


def roll_up_slo_windows(
    db: sqlite3.Connection, cluster_id: int, slo: str, start: float, seconds: float, step: float
) -> None:
    """(Re)compute one rollup window of an SLO from its ``step``-second windows."""
    rows = db.execute(
        "SELECT good, total, statuses, latency FROM slo_windows WHERE cluster_id = ? AND "
        "slo = ? AND window_seconds = ? AND window_start >= ? AND window_start < ?",
        (cluster_id, slo, step, start, start + seconds),
    ).fetchall()
    if not rows:
        return
    good = sum(row[0] for row in rows)
    total = sum(row[1] for row in rows)
    statuses: dict[str, float] = {}
    latency: dict[float, float] = {}
    bounds: set[float] | None = None
    for _, _, status_text, latency_text in rows:
        for status, count in json.loads(status_text) if status_text else ():
            statuses[status] = statuses.get(status, 0.0) + count
        pairs = json.loads(latency_text) if latency_text else []
        if pairs:
            # Only buckets every window has can be added up.
            bounds = {b for b, _ in pairs} if bounds is None else bounds & {b for b, _ in pairs}
            for bound, count in pairs:
                latency[bound] = latency.get(bound, 0.0) + count
    rollup = SloWindow(
        slo,
        start,
        seconds,
        good,
        total,
        tuple(sorted(statuses.items())),
        tuple(sorted((b, c) for b, c in latency.items() if bounds and b in bounds)),
    )
    record_slo_window(db, cluster_id, rollup)


def record_audit(db: sqlite3.Connection, cluster_id: int | None, entry: AuditEntry) -> None:
    audit.append(db, cluster_id, entry)


def enqueue_alert(db: sqlite3.Connection, alert: OutboxAlert) -> None:
    db.execute(
        "INSERT OR IGNORE INTO alert_outbox (created_at, channel, dedup_key, payload, state, "
        "attempts, next_attempt_at, last_error, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            alert.created_at,
            alert.channel,
            alert.dedup_key,
            json.dumps(dict(alert.payload), sort_keys=True, default=str),
            alert.state,
            alert.attempts,
            alert.next_attempt_at if alert.next_attempt_at is not None else alert.created_at,
            alert.last_error,
            alert.delivered_at,
        ),
    )


def mark_alert(
    db: sqlite3.Connection,
    channel: str,
    dedup_key: str,
    *,
    delivered_at: float | None,
    error: str,
    retry_at: float | None,
) -> None:
    """Record a delivery attempt: delivered, failed for good (no retry), or to retry."""
    state = "delivered" if delivered_at is not None else ("pending" if retry_at else "failed")
    db.execute(
        "UPDATE alert_outbox SET state = ?, attempts = attempts + 1, delivered_at = ?, "
        "last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at) "
        "WHERE channel = ? AND dedup_key = ?",
        (state, delivered_at, error, retry_at, channel, dedup_key),
    )
