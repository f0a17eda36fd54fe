"""Retention: how long and how much of each kind of data the file keeps, and its sizes.

Each *kind* (anomalies, events, pod restarts, SLO windows, audit log, alert outbox, the
assistant's conversations, and one per metrics tier) has a maximum age and, optionally, a
maximum size in bytes. The defaults live here; what the user sets is stored in the file
(``retention`` table) and wins. The writer applies them on its own schedule in small
transactions, so ingest never waits long; freed pages go back to the file system
(``auto_vacuum = INCREMENTAL``), so the file shrinks when the user lowers a limit.

Sizes come from SQLite's ``dbstat``: the pages each table and its indexes really occupy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from headless_agent.store import audit
from headless_agent.store.schema import DAY, SeriesLayout, chunk_table
from headless_agent.store.series_writing import metrics_kind

#: kinds of records, with their default maximum age
RECORD_KINDS: dict[str, float | None] = {
    "anomalies": 365 * DAY,
    "events": 90 * DAY,
    "pod_restarts": 90 * DAY,
    "slo": 400 * DAY,
    "audit": 730 * DAY,
    "alerts": 30 * DAY,
    # What was asked of the assistant and what it read (redacted) is the user's too.
    "conversations": 90 * DAY,
}

#: the tables (and so their indexes) each kind occupies
_RECORD_TABLES: dict[str, tuple[str, ...]] = {
    "anomalies": ("anomalies", "anomaly_transitions"),
    "events": (
        "warning_events",
        "warning_events_fts",
        "warning_events_fts_data",
        "warning_events_fts_idx",
        "warning_events_fts_docsize",
        "warning_events_fts_config",
    ),
    "pod_restarts": ("pod_restarts",),
    "slo": ("slo_windows",),
    "audit": ("audit_log",),
    "alerts": ("alert_outbox",),
    "conversations": ("assistant_conversations", "assistant_messages"),
}

#: (table, time column, extra condition) for deleting by age; anomalies are special
_AGE_RULES: dict[str, tuple[str, str, str]] = {
    "events": ("warning_events", "last_seen", ""),
    "pod_restarts": ("pod_restarts", "observed_at", ""),
    "slo": ("slo_windows", "window_start + window_seconds", ""),
    "audit": ("audit_log", "at", ""),
    "alerts": ("alert_outbox", "created_at", "state IN ('delivered', 'failed')"),
    "anomalies": ("anomalies", "resolved_at", "resolved_at IS NOT NULL"),
    "conversations": ("assistant_messages", "at", ""),
}


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """``max_age`` in seconds and ``max_bytes``; None means no limit."""

    max_age: float | None
    max_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class KindUsage:
    bytes: int
    rule: RetentionRule


@dataclass(frozen=True, slots=True)
class SizeReport:
    """What the history file occupies, per kind of data; ``other`` is the catalogue
    (clusters, series names, settings) and SQLite's own bookkeeping."""

    path: Path
    file_bytes: int
    wal_bytes: int
    free_bytes: int
    kinds: dict[str, KindUsage] = field(default_factory=dict)
    other_bytes: int = 0


def tables_of(layout: SeriesLayout) -> dict[str, tuple[str, ...]]:
    tables = dict(_RECORD_TABLES)
    for tier in layout.tiers:
        extra = ("head_samples",) if tier is layout.raw else ()
        tables[metrics_kind(tier.name)] = (chunk_table(tier.name), *extra)
    return tables


class RetentionSettings:
    """Defaults, overlaid with what the file stores. Reads are safe from any thread: the
    writer replaces the whole mapping when something changes."""

    def __init__(self, layout: SeriesLayout) -> None:
        defaults = {kind: RetentionRule(age) for kind, age in RECORD_KINDS.items()}
        for tier in layout.tiers:
            defaults[metrics_kind(tier.name)] = RetentionRule(tier.max_age)
        self.defaults = defaults
        self._rules = dict(defaults)

    def load(self, db: sqlite3.Connection) -> None:
        rules = dict(self.defaults)
        for kind, max_age, max_bytes in db.execute(
            "SELECT kind, max_age, max_bytes FROM retention"
        ):
            if kind in rules:
                rules[kind] = RetentionRule(max_age, max_bytes)
        self._rules = rules

    def rules(self) -> dict[str, RetentionRule]:
        return dict(self._rules)

    def rule(self, kind: str) -> RetentionRule:
        return self._rules[kind]

    def max_age(self, kind: str) -> float | None:
        return self._rules[kind].max_age

    def check(self, kind: str, rule: RetentionRule) -> None:
        if kind not in self._rules:
            raise ValueError(f"unknown kind of data {kind!r}; known: {sorted(self._rules)}")
        if rule.max_age is not None and rule.max_age <= 0:
            raise ValueError(f"{kind}: the maximum age must be positive")
        if rule.max_bytes is not None and rule.max_bytes <= 0:
            raise ValueError(f"{kind}: the maximum size must be positive")

    def store(self, db: sqlite3.Connection, kind: str, rule: RetentionRule) -> None:
        self.check(kind, rule)
        db.execute(
            "INSERT INTO retention (kind, max_age, max_bytes) VALUES (?, ?, ?) ON CONFLICT "
            "(kind) DO UPDATE SET max_age = excluded.max_age, max_bytes = excluded.max_bytes",
            (kind, rule.max_age, rule.max_bytes),
        )
        rules = dict(self._rules)
        rules[kind] = replace(rule)
        self._rules = rules


def measure(db: sqlite3.Connection, layout: SeriesLayout) -> tuple[dict[str, int], int]:
    """Bytes per kind (tables with their indexes) and the bytes of everything else."""
    owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE rootpage > 0"))
    kind_of = {table: kind for kind, tables in tables_of(layout).items() for table in tables}
    sizes = dict.fromkeys(kind_of.values(), 0)
    other = 0
    for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
        kind = kind_of.get(owner.get(name, name)) or kind_of.get(name)
        if kind is None:
            other += int(size)
        else:
            sizes[kind] += int(size)
    return sizes, other


def size_report(
    db: sqlite3.Connection, path: Path, layout: SeriesLayout, settings: RetentionSettings
) -> SizeReport:
    sizes, other = measure(db, layout)
    page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
    wal = Path(f"{path}-wal")
    return SizeReport(
        path=path,
        file_bytes=path.stat().st_size if path.exists() else 0,
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        free_bytes=free,
        kinds={kind: KindUsage(size, settings.rule(kind)) for kind, size in sizes.items()},
        other_bytes=other,
    )


def delete_older(db: sqlite3.Connection, kind: str, cutoff: float, limit: int) -> int:
    """Delete up to ``limit`` records of a (non-metrics) kind older than ``cutoff``."""
    table, column, condition = _AGE_RULES[kind]
    where = f"{column} < ?" + (f" AND {condition}" if condition else "")
    if kind == "audit":
        return audit.drop_before(db, cutoff, limit)  # keeps the hash chain's anchor
    if kind == "anomalies":
        ids = [
            row[0]
            for row in db.execute(
                f"SELECT id FROM anomalies WHERE {where} LIMIT ?", (cutoff, limit)
            )
        ]
        marks = ",".join("?" * len(ids))
        db.execute(f"DELETE FROM anomaly_transitions WHERE anomaly_id IN ({marks})", ids)
        db.execute(f"DELETE FROM anomalies WHERE id IN ({marks})", ids)
        return len(ids)
    if kind == "conversations":
        return _drop_conversations(db, cutoff, limit)
    key = "rowid"
    cursor = db.execute(
        f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} LIMIT ?)",
        (cutoff, limit),
    )
    return cursor.rowcount


def _drop_conversations(db: sqlite3.Connection, cutoff: float, limit: int) -> int:
    """Conversations go whole, once their last message is older than ``cutoff``: half a
    conversation would mislead whoever reads it back."""
    keys = [
        row[0]
        for row in db.execute(
            "SELECT c.key FROM assistant_conversations c LEFT JOIN assistant_messages m "
            "ON m.conversation = c.key GROUP BY c.key "
            "HAVING COALESCE(MAX(m.at), c.started_at) < ? LIMIT ?",
            (cutoff, limit),
        )
    ]
    marks = ",".join("?" * len(keys))
    db.execute(f"DELETE FROM assistant_messages WHERE conversation IN ({marks})", keys)
    db.execute(f"DELETE FROM assistant_conversations WHERE key IN ({marks})", keys)
    return len(keys)


def optimize_event_index(db: sqlite3.Connection) -> int:
    db.execute("INSERT INTO warning_events_fts (warning_events_fts) VALUES ('optimize')")
    return 0


def time_at_fraction(
    db: sqlite3.Connection, kind: str, layout: SeriesLayout, fraction: float
) -> float | None:
    """The time before which ``fraction`` of a kind's records lie (oldest first), in the
    kind's own unit (seconds; metrics: chunk start in milliseconds)."""
    if kind.startswith("metrics."):
        table, column, condition = chunk_table(kind.split(".", 1)[1]), "start", ""
    else:
        table, column, condition = _AGE_RULES[kind]
    where = f"WHERE {condition}" if condition else ""
    (count,) = db.execute(f"SELECT COUNT(*) FROM {table} {where}").fetchone()
    if not count:
        return None
    offset = min(int(count * fraction), count - 1)
    row = db.execute(
        f"SELECT {column} FROM {table} {where} ORDER BY {column} LIMIT 1 OFFSET ?", (offset,)
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def vacuum_steps(db: sqlite3.Connection, pages: int = 2048) -> Iterator[int]:
    """Hand free pages back to the file system, a bounded number per step."""
    while int(db.execute("PRAGMA freelist_count").fetchone()[0]) > 0:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(f"PRAGMA incremental_vacuum({pages})").fetchall()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        yield pages
