"""Queries over clusters, anomalies, events, pod restarts, SLO windows, audit and alerts.

Plain functions over a read connection; the store runs them on the caller's thread with
that thread's own connection (WAL readers never wait for the writer).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from headless_agent.detect.anomaly import Severity
from headless_agent.store.records import (
    AnomalyEpisode,
    AuditEntry,
    ClusterInfo,
    EpisodeTransition,
    OutboxAlert,
    PodRestart,
    PodRestartObservation,
    SloWindow,
    StoredEvent,
)


class UnknownCluster(LookupError):
    """No history under that name, alias or identity."""


def resolve_cluster(db: sqlite3.Connection, name: str) -> tuple[int, str]:
    """(cluster id, current display name) for an identity key, display name or old name."""
    row = db.execute(
        "SELECT id, display_name FROM clusters WHERE identity = ? OR display_name = ? "
        "ORDER BY (identity = ?) DESC, last_seen DESC LIMIT 1",
        (name, name, name),
    ).fetchone()
    if row is None:
        row = db.execute(
            "SELECT c.id, c.display_name FROM cluster_names n JOIN clusters c "
            "ON c.id = n.cluster_id WHERE n.name = ? ORDER BY n.last_seen DESC LIMIT 1",
            (name,),
        ).fetchone()
    if row is None:
        raise UnknownCluster(f"no history for a cluster called {name!r}")
    return int(row[0]), str(row[1])


def clusters(db: sqlite3.Connection) -> list[ClusterInfo]:
    names: dict[int, list[str]] = {}
    for cluster_id, name in db.execute(
        "SELECT cluster_id, name FROM cluster_names ORDER BY last_seen DESC"
    ):
        names.setdefault(cluster_id, []).append(name)
    return [
        ClusterInfo(identity, display, tuple(names.get(cluster_id, [display])), first, last)
        for cluster_id, identity, display, first, last in db.execute(
            "SELECT id, identity, display_name, first_seen, last_seen FROM clusters "
            "ORDER BY display_name"
        )
    ]


def anomaly_timeline(
    db: sqlite3.Connection,
    cluster_id: int,
    cluster: str,
    start: float,
    end: float,
    *,
    open_only: bool = False,
) -> list[AnomalyEpisode]:
    """Episodes that were open at any moment of [start, end], oldest first."""
    rows = db.execute(
        "SELECT id, kind, namespace, name, reason, severity, message, message_id, params, "
        "first_seen, last_seen, resolved_at, count, members FROM anomalies "
        "WHERE cluster_id = ? AND first_seen <= ? "
        "AND (resolved_at IS NULL OR resolved_at >= ?) "
        + ("AND resolved_at IS NULL " if open_only else "")
        + "ORDER BY first_seen, id",
        (cluster_id, end, start),
    ).fetchall()
    transitions: dict[int, list[EpisodeTransition]] = {}
    ids = [row[0] for row in rows]
    for chunk_start in range(0, len(ids), 500):
        part = ids[chunk_start : chunk_start + 500]
        marks = ",".join("?" * len(part))
        for anomaly_id, at, kind, severity, message, message_id, params, count in db.execute(
            "SELECT anomaly_id, at, type, severity, message, message_id, params, count "
            f"FROM anomaly_transitions WHERE anomaly_id IN ({marks}) ORDER BY at, id",
            part,
        ):
            transitions.setdefault(anomaly_id, []).append(
                EpisodeTransition(
                    at, kind, Severity(severity), message, message_id or "", _params(params), count
                )
            )
    return [
        AnomalyEpisode(
            cluster=cluster,
            kind=kind,
            namespace=namespace,
            name=name,
            reason=reason,
            severity=Severity(severity),
            message=message,
            message_id=message_id or "",
            params=_params(params),
            first_seen=first_seen,
            last_seen=last_seen,
            resolved_at=resolved_at,
            count=count,
            members=tuple(json.loads(members or "[]")),
            transitions=tuple(transitions.get(anomaly_id, ())),
        )
        for (
            anomaly_id,
            kind,
            namespace,
            name,
            reason,
            severity,
            message,
            message_id,
            params,
            first_seen,
            last_seen,
            resolved_at,
            count,
            members,
        ) in rows
    ]


def _params(stored: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in json.loads(stored or "[]"))


def _fts_phrase(text: str) -> str:
    """One FTS5 phrase: the user's text, quotes doubled, so nothing in it is syntax."""
    return '"' + text.replace('"', '""') + '"'


def search_events(
    db: sqlite3.Connection,
    cluster_ids: dict[int, str],
    *,
    text: str | None = None,
    object_kind: str | None = None,
    object_namespace: str | None = None,
    object_name: str | None = None,
    reason: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 200,
) -> list[StoredEvent]:
    """Warning events, newest first. ``text`` finds a substring (any case) in the reason,
    message or object; ``object_name`` and ``reason`` match exactly or, ending in ``*``,
    by prefix."""
    clauses = [f"e.cluster_id IN ({','.join('?' * len(cluster_ids))})"]
    parameters: list[Any] = list(cluster_ids)
    join = ""
    words = (text or "").strip()
    if words:
        if len(words) >= 3:  # trigram index: three characters at least
            join = "JOIN warning_events_fts f ON f.rowid = e.id"
            clauses.append("warning_events_fts MATCH ?")
            parameters.append(_fts_phrase(words))
        else:
            clauses.append(
                "(e.message LIKE ? ESCAPE '\\' OR e.reason LIKE ? ESCAPE '\\' "
                "OR e.object_name LIKE ? ESCAPE '\\')"
            )
            pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parameters += [pattern + "%"] * 3
    for column, value in (
        ("object_kind", object_kind),
        ("object_namespace", object_namespace),
        ("object_name", object_name),
        ("reason", reason),
    ):
        if value is None:
            continue
        if value.endswith("*"):
            clauses.append(f"e.{column} >= ? AND e.{column} < ?")
            prefix = value[:-1]
            parameters += [prefix, prefix + "\U0010ffff"]
        else:
            clauses.append(f"e.{column} = ?")
            parameters.append(value)
    if since is not None:
        clauses.append("e.last_seen >= ?")
        parameters.append(since)
    if until is not None:
        clauses.append("e.first_seen <= ?")
        parameters.append(until)
    parameters.append(limit)
    rows = db.execute(
        "SELECT e.cluster_id, e.event_key, e.namespace, e.name, e.reason, e.message, "
        "e.object_kind, e.object_namespace, e.object_name, e.object_uid, e.count, "
        f"e.first_seen, e.last_seen, e.source FROM warning_events e {join} "
        f"WHERE {' AND '.join(clauses)} ORDER BY e.last_seen DESC, e.id DESC LIMIT ?",
        parameters,
    )
    return [StoredEvent(cluster_ids[row[0]], *row[1:]) for row in rows]


def pod_restarts(
    db: sqlite3.Connection,
    cluster_id: int,
    cluster: str,
    start: float,
    end: float,
    *,
    namespace: str | None = None,
    pod: str | None = None,
    owner: tuple[str, str] | None = None,
) -> list[PodRestart]:
    clauses = ["cluster_id = ?", "observed_at >= ?", "observed_at <= ?"]
    parameters: list[Any] = [cluster_id, start, end]
    if namespace is not None:
        clauses.append("namespace = ?")
        parameters.append(namespace)
    if pod is not None:
        clauses.append("pod = ?")
        parameters.append(pod)
    if owner is not None:
        clauses.append("owner_kind = ? AND owner_name = ?")
        parameters += list(owner)
    rows = db.execute(
        "SELECT pod_uid, namespace, pod, restart_count, observed_at, owner_kind, owner_name, "
        "node, last_reason, last_restart_at, increase FROM pod_restarts "
        f"WHERE {' AND '.join(clauses)} ORDER BY observed_at, id",
        parameters,
    )
    return [PodRestart(cluster, PodRestartObservation(*row[:10]), row[10]) for row in rows]


def _slo_window(row: Sequence[Any]) -> SloWindow:
    statuses = tuple((str(s), float(c)) for s, c in json.loads(row[5])) if row[5] else ()
    latency = tuple((float(b), float(c)) for b, c in json.loads(row[6])) if row[6] else ()
    return SloWindow(row[0], row[1], row[2], row[3], row[4], statuses, latency)


_SLO_COLUMNS = "slo, window_start, window_seconds, good, total, statuses, latency"


def slo_windows(
    db: sqlite3.Connection, cluster_id: int, slo: str, start: float, end: float
) -> list[SloWindow]:
    rows = db.execute(
        f"SELECT {_SLO_COLUMNS} FROM slo_windows "
        "WHERE cluster_id = ? AND slo = ? AND window_start >= ? AND window_start <= ? "
        "ORDER BY window_start, window_seconds",
        (cluster_id, slo, start, end),
    )
    return [_slo_window(row) for row in rows]


def slo_traffic(
    db: sqlite3.Connection, cluster_id: int, seconds: float, start: float, end: float
) -> list[SloWindow]:
    """Every SLO's windows of one length that start in [start, end), oldest first."""
    rows = db.execute(
        f"SELECT {_SLO_COLUMNS} FROM slo_windows WHERE cluster_id = ? AND window_seconds = ? "
        "AND window_start >= ? AND window_start < ? ORDER BY window_start, slo",
        (cluster_id, seconds, start, end),
    )
    return [_slo_window(row) for row in rows]


def audit_entries(
    db: sqlite3.Connection,
    start: float,
    end: float,
    *,
    cluster_id: int | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    clauses = ["a.at >= ?", "a.at <= ?"]
    parameters: list[Any] = [start, end]
    if cluster_id is not None:
        clauses.append("a.cluster_id = ?")
        parameters.append(cluster_id)
    if action is not None:
        clauses.append("a.action = ?")
        parameters.append(action)
    rows = db.execute(
        "SELECT a.id, a.at, a.actor, a.action, a.outcome, a.cluster, a.target_kind, "
        "a.target_namespace, a.target_name, a.parameters, a.detail, a.identity, a.via, "
        "a.error, a.duration, a.request_key FROM audit_log a "
        f"WHERE {' AND '.join(clauses)} ORDER BY a.at, a.id",
        parameters,
    )
    return [
        AuditEntry(
            at=row[1],
            actor=row[2],
            action=row[3],
            outcome=row[4],
            cluster=row[5] or None,
            target_kind=row[6],
            target_namespace=row[7],
            target_name=row[8],
            parameters=json.loads(row[9] or "{}"),
            detail=row[10],
            identity=row[11],
            via=row[12],
            error=row[13],
            duration=row[14],
            request_key=row[15],
            sequence=row[0],
        )
        for row in rows
    ]


def outbox(
    db: sqlite3.Connection,
    *,
    states: Sequence[str] = ("pending",),
    due_before: float | None = None,
    limit: int = 100,
    order: str = "due",
    channel: str | None = None,
) -> list[OutboxAlert]:
    clauses = [f"state IN ({','.join('?' * len(states))})"]
    parameters: list[Any] = list(states)
    if due_before is not None:
        clauses.append("next_attempt_at <= ?")
        parameters.append(due_before)
    if channel is not None:
        clauses.append("channel = ?")
        parameters.append(channel)
    parameters.append(limit)
    # due: the next attempts first; written: as enqueued (what a channel sends in order);
    # newest: what a person reading the history wants first.
    order_by = {"due": "next_attempt_at, id", "written": "id", "newest": "id DESC"}[order]
    rows = db.execute(
        "SELECT channel, dedup_key, payload, created_at, state, attempts, next_attempt_at, "
        "last_error, delivered_at FROM alert_outbox "
        f"WHERE {' AND '.join(clauses)} ORDER BY {order_by} LIMIT ?",
        parameters,
    )
    return [
        OutboxAlert(
            channel, key, json.loads(payload), created, state, attempts, due, error, delivered
        )
        for channel, key, payload, created, state, attempts, due, error, delivered in rows
    ]
