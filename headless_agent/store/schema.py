"""The database file: opening it safely, its schema versions and forward migrations.

The schema is a chain of migrations from version 0 (an empty file). A new file runs the
whole chain, so the path every user's file takes is the path the tests take; each step runs
in one transaction with ``PRAGMA user_version`` bumped inside it, so a crash mid-migration
leaves the previous version intact. There are no downgrades: a file written by a newer
AtlHyper is refused with a message, never rewritten.

Opening never overwrites what it does not recognise. Before anything is written, the file
must start with SQLite's magic, carry AtlHyper's ``application_id`` (or be an empty
database), have a schema version this code knows, and pass ``PRAGMA quick_check``. Each
failure raises a ``StoreOpenError`` subclass whose message names the file and what to do.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from headless_agent.store import audit

log = logging.getLogger(__name__)

#: "ATLH": marks the file as AtlHyper's history (``PRAGMA application_id``)
APPLICATION_ID = 0x41544C48
SQLITE_MAGIC = b"SQLite format 3\x00"
#: bytes per database page (SQLite's default); chunks are a few KiB to a few hundred
PAGE_SIZE = 4096


class StoreOpenError(Exception):
    """The history file cannot be used; the message says why and what to do."""

    def __init__(self, path: Path, problem: str, advice: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"History file {path}: {problem}. {advice}")


_LEAVE = (
    "AtlHyper has not changed it. Move it away, or point ATLHYPER_DB (or the history "
    "setting) at another file."
)


class NotADatabase(StoreOpenError):
    """The file is not an SQLite database at all."""


class ForeignDatabase(StoreOpenError):
    """An SQLite database that belongs to another application."""


class CorruptDatabase(StoreOpenError):
    """AtlHyper's database, but damaged."""


class NewerSchema(StoreOpenError):
    """Written by a newer AtlHyper; this version must not touch it."""


# --- the layout of the time series (fixed when a file is created) -------------------------

_TIER_NAME = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True, slots=True)
class TierSpec:
    """One resolution of node metrics: points every ``step`` seconds, stored in chunks of
    ``span`` seconds, kept ``max_age`` seconds by default (changeable later)."""

    name: str
    step: float
    span: float
    max_age: float

    @property
    def step_ms(self) -> int:
        return round(self.step * 1000)

    @property
    def span_ms(self) -> int:
        return round(self.span * 1000)


DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True, slots=True)
class SeriesLayout:
    """How node metrics are chunked and rolled up.

    Raw samples are sealed into chunks of ``raw.span`` seconds (every rollup step must
    divide it, so each rollup bucket is computed once, from one raw window, when that window
    is sealed: rollups never rescan history). Rollup points are first written per raw window
    and merged into chunks of their tier's ``span`` once that span is over.

    Steps and spans are written into a new file and read back from it afterwards (a file
    keeps the layout it was made with); retention ages are defaults the user can change.
    """

    raw: TierSpec = TierSpec("raw", 15.0, 2 * HOUR, 2 * DAY)
    rollups: tuple[TierSpec, ...] = (
        TierSpec("1m", 60.0, 12 * HOUR, 14 * DAY),
        TierSpec("5m", 300.0, 2 * DAY, 90 * DAY),
        TierSpec("1h", HOUR, 14 * DAY, 365 * DAY),
    )
    #: a window is sealed once its node has sent samples this long past its end (samples
    #: may arrive a little out of order)
    seal_delay: float = 60.0
    #: ...or, for a node that went quiet, once our clock is this long past its end
    idle_seal_delay: float = 600.0
    #: a counter interval longer than this (the node was gone) gives no rate
    max_rate_gap: float = 600.0

    def __post_init__(self) -> None:
        names = [self.raw.name] + [tier.name for tier in self.rollups]
        if len(set(names)) != len(names) or not all(_TIER_NAME.match(n) for n in names):
            raise ValueError(f"tier names must be distinct and [a-z0-9]+: {names}")
        for tier in self.rollups:
            if self.raw.span_ms % tier.step_ms or tier.span_ms % self.raw.span_ms:
                raise ValueError(
                    f"tier {tier.name}: its step must divide the raw window "
                    f"({self.raw.span:g} s) and its span must be a multiple of it"
                )
        steps = [tier.step for tier in self.rollups]
        if steps != sorted(steps) or (steps and steps[0] <= 0):
            raise ValueError("rollup tiers must be listed from the finest step up")

    @property
    def tiers(self) -> tuple[TierSpec, ...]:
        return (self.raw, *self.rollups)

    def tier(self, name: str) -> TierSpec:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)


def chunk_table(tier: str) -> str:
    return f"chunks_{tier}"


def read_layout(connection: sqlite3.Connection, defaults: SeriesLayout) -> SeriesLayout:
    """The layout stored in the file (its steps and spans; ages come from ``defaults``)."""
    rows = connection.execute(
        "SELECT name, step_ms, span_ms FROM series_tiers ORDER BY position"
    ).fetchall()
    ages = {tier.name: tier.max_age for tier in defaults.tiers}
    tiers = [
        TierSpec(name, step / 1000, span / 1000, ages.get(name, 365 * DAY))
        for name, step, span in rows
    ]
    return SeriesLayout(
        raw=tiers[0],
        rollups=tuple(tiers[1:]),
        seal_delay=defaults.seal_delay,
        idle_seal_delay=defaults.idle_seal_delay,
        max_rate_gap=defaults.max_rate_gap,
    )


# --- migrations ---------------------------------------------------------------------------


def _v1_clusters_and_anomalies(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.create_table("meta", {"key": str, "value": str}, pk="key")
    db.table("meta").insert_all(
        [
            {"key": "created_at", "value": repr(time.time())},
            {"key": "created_by", "value": "atlhyper"},
        ]
    )
    db.create_table(
        "clusters",
        {
            "id": int,
            "identity": str,
            "display_name": str,
            "kube_system_uid": str,
            "first_seen": float,
            "last_seen": float,
        },
        pk="id",
        not_null=["identity", "display_name"],
    )
    db.table("clusters").create_index(["identity"], unique=True)
    db.create_table(
        "cluster_names",
        {"name": str, "cluster_id": int, "last_seen": float},
        pk=("name", "cluster_id"),
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    db.create_table(
        "anomalies",
        {
            "id": int,
            "cluster_id": int,
            "kind": str,
            "namespace": str,
            "name": str,
            "reason": str,
            "severity": int,
            "message": str,
            "message_id": str,
            "params": str,
            "first_seen": float,
            "last_seen": float,
            "resolved_at": float,
            "count": int,
            "members": str,
        },
        pk="id",
        not_null=["cluster_id", "kind", "namespace", "name", "reason"],
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    db.table("anomalies").create_index(["cluster_id", "first_seen"])
    db.table("anomalies").create_index(["resolved_at"])
    # At most one open episode per anomaly key: the store continues it, never duplicates it.
    db.execute(
        "CREATE UNIQUE INDEX anomalies_open ON anomalies"
        "(cluster_id, kind, namespace, name, reason) WHERE resolved_at IS NULL"
    )
    db.create_table(
        "anomaly_transitions",
        {
            "id": int,
            "anomaly_id": int,
            "at": float,
            "type": str,
            "severity": int,
            "message": str,
            "message_id": str,
            "params": str,
            "count": int,
        },
        pk="id",
        not_null=["anomaly_id", "at", "type"],
        foreign_keys=[("anomaly_id", "anomalies", "id")],
    )
    db.table("anomaly_transitions").create_index(["anomaly_id", "at"])
    db.create_table("retention", {"kind": str, "max_age": float, "max_bytes": int}, pk="kind")


def _v2_warning_events(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    db.create_table(
        "warning_events",
        {
            "id": int,
            "cluster_id": int,
            "event_key": str,
            "namespace": str,
            "name": str,
            "reason": str,
            "message": str,
            "object_kind": str,
            "object_namespace": str,
            "object_name": str,
            "object_uid": str,
            "count": int,
            "first_seen": float,
            "last_seen": float,
            "source": str,
        },
        pk="id",
        not_null=["cluster_id", "event_key"],
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    events = db.table("warning_events")
    events.create_index(["cluster_id", "event_key"], unique=True)
    events.create_index(["cluster_id", "last_seen"])
    events.create_index(["cluster_id", "object_kind", "object_namespace", "object_name"])
    # Trigram tokens: substring search that works for CJK text and partial words
    # ("OOMKill" finds "OOMKilled"); kept in step with the table by triggers.
    events.enable_fts(
        ["reason", "message", "object_kind", "object_namespace", "object_name"],
        tokenize="trigram",
        create_triggers=True,
    )


def _v3_time_series(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    db.create_table(
        "series_sources",
        {"id": int, "cluster_id": int, "node": str},
        pk="id",
        not_null=["cluster_id", "node"],
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    db.table("series_sources").create_index(["cluster_id", "node"], unique=True)
    db.create_table(
        "series",
        {"id": int, "source_id": int, "name": str, "kind": str, "unit": str},
        pk="id",
        not_null=["source_id", "name", "kind"],
        foreign_keys=[("source_id", "series_sources", "id")],
    )
    db.table("series").create_index(["source_id", "name"], unique=True)
    db.create_table(
        "series_tiers",
        {"name": str, "step_ms": int, "span_ms": int, "position": int},
        pk="name",
    )
    db.table("series_tiers").insert_all(
        {"name": t.name, "step_ms": t.step_ms, "span_ms": t.span_ms, "position": i}
        for i, t in enumerate(layout.tiers)
    )
    # The head: samples of windows not sealed yet, one small row each. It holds about one
    # raw window per node; sealing moves a window into a chunk and deletes its rows.
    db.execute(
        "CREATE TABLE head_samples (source_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
        "series_id INTEGER NOT NULL, value REAL NOT NULL, "
        "PRIMARY KEY (source_id, ts, series_id)) WITHOUT ROWID"
    )
    for tier in layout.tiers:
        _create_chunk_table(db, tier.name)
    db.create_table(
        "pod_restarts",
        {
            "id": int,
            "cluster_id": int,
            "pod_uid": str,
            "namespace": str,
            "pod": str,
            "owner_kind": str,
            "owner_name": str,
            "node": str,
            "observed_at": float,
            "restart_count": int,
            "increase": int,
            "last_reason": str,
            "last_restart_at": float,
        },
        pk="id",
        not_null=["cluster_id", "pod_uid", "observed_at", "restart_count"],
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    restarts = db.table("pod_restarts")
    restarts.create_index(["cluster_id", "observed_at"])
    restarts.create_index(["cluster_id", "namespace", "pod"])
    restarts.create_index(["cluster_id", "pod_uid", "observed_at"])


def _create_chunk_table(db: sqlite_utils.Database, tier: str) -> None:
    table = chunk_table(tier)
    db.create_table(
        table,
        {"id": int, "source_id": int, "start": int, "end": int, "rows": int, "data": bytes},
        pk="id",
        not_null=["source_id", "start", "end", "rows", "data"],
    )
    db.table(table).create_index(["source_id", "start"], unique=True)
    db.table(table).create_index(["end"])  # retention finds old chunks without a scan


def _v4_slo_audit_outbox(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    db.create_table(
        "slo_windows",
        {
            "cluster_id": int,
            "slo": str,
            "window_start": float,
            "window_seconds": float,
            "good": float,
            "total": float,
        },
        pk=("cluster_id", "slo", "window_start", "window_seconds"),
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    db.create_table(
        "audit_log",
        {
            "id": int,
            "at": float,
            "actor": str,
            "cluster_id": int,
            "action": str,
            "target_kind": str,
            "target_namespace": str,
            "target_name": str,
            "parameters": str,
            "outcome": str,
            "detail": str,
        },
        pk="id",
        not_null=["at", "actor", "action", "outcome"],
        foreign_keys=[("cluster_id", "clusters", "id")],
    )
    db.table("audit_log").create_index(["at"])
    db.table("audit_log").create_index(["cluster_id", "at"])
    db.create_table(
        "alert_outbox",
        {
            "id": int,
            "created_at": float,
            "channel": str,
            "dedup_key": str,
            "payload": str,
            "state": str,
            "attempts": int,
            "next_attempt_at": float,
            "last_error": str,
            "delivered_at": float,
        },
        pk="id",
        not_null=["created_at", "channel", "dedup_key", "payload", "state"],
    )
    db.table("alert_outbox").create_index(["channel", "dedup_key"], unique=True)
    db.table("alert_outbox").create_index(["state", "next_attempt_at"])


def _v5_audit_chain(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    table = db.table("audit_log")
    for column in ("identity", "cluster", "via", "error", "request_key", "prev_hash", "entry_hash"):
        table.add_column(column, str, not_null_default="")
    table.add_column("duration", float)
    # The cluster's name as it was, so that renaming a context later changes no hash.
    db.execute(
        "UPDATE audit_log SET cluster = COALESCE("
        "(SELECT display_name FROM clusters c WHERE c.id = audit_log.cluster_id), '')"
    )
    db.create_table("audit_anchor", {"id": int, "hash": str}, pk="id", not_null=["hash"])
    table.create_index(["request_key"])
    audit.rechain(db.conn)


def _v6_silences(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    db.create_table(
        "silences",
        {
            "id": int,
            "created_at": float,
            "expires_at": float,
            "cluster": str,
            "namespace": str,
            "name": str,
            "reason": str,
            "created_by": str,
            "comment": str,
        },
        pk="id",
        not_null=["created_at", "expires_at"],
    )
    db.table("silences").create_index(["expires_at"])


def _v7_slo_traffic(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    # Requests by status and latency buckets of each SLO window (JSON), so that objectives
    # and percentiles can be computed again from what is stored.
    table = db.table("slo_windows")
    table.add_column("statuses", str, not_null_default="")
    table.add_column("latency", str, not_null_default="")
    table.create_index(["cluster_id", "window_seconds", "window_start"])


def _v8_assistant_conversations(db: sqlite_utils.Database, layout: SeriesLayout) -> None:
    # The optional assistant: each conversation and its messages (tool results included,
    # already redacted), and the tokens each answer cost (the daily budget is their sum).
    db.create_table(
        "assistant_conversations",
        {"key": str, "started_at": float, "cluster": str, "language": str, "title": str},
        pk="key",
        not_null=["started_at"],
    )
    db.table("assistant_conversations").create_index(["started_at"])
    db.create_table(
        "assistant_messages",
        {
            "id": int,
            "conversation": str,
            "at": float,
            "role": str,
            "content": str,
            "tool_calls": str,
            "tool_call_id": str,
            "tokens": int,
        },
        pk="id",
        not_null=["conversation", "at", "role"],
        foreign_keys=[("conversation", "assistant_conversations", "key")],
    )
    db.table("assistant_messages").create_index(["conversation", "id"])
    db.table("assistant_messages").create_index(["at"])


Migration = Callable[[sqlite_utils.Database, SeriesLayout], None]

#: MIGRATIONS[n] takes a file from version n to n + 1
MIGRATIONS: tuple[Migration, ...] = (
    _v1_clusters_and_anomalies,
    _v2_warning_events,
    _v3_time_series,
    _v4_slo_audit_outbox,
    _v5_audit_chain,
    _v6_silences,
    _v7_slo_traffic,
    _v8_assistant_conversations,
)
LATEST_VERSION = len(MIGRATIONS)


def migrate(
    connection: sqlite3.Connection, layout: SeriesLayout, *, target: int = LATEST_VERSION
) -> int:
    """Run every migration the file still needs (up to ``target``); returns the old version."""
    db = sqlite_utils.Database(connection, execute_plugins=False)
    start = schema_version(connection)
    while True:
        connection.execute("BEGIN IMMEDIATE")
        # Read again under the write lock: another process opening the same file (the
        # desktop and a headless run, say) may have migrated it while this one waited.
        version = schema_version(connection)
        if version >= target:
            connection.execute("COMMIT")
            return start
        try:
            MIGRATIONS[version](db, layout)
            connection.execute(f"PRAGMA user_version = {version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        log.info("history schema migrated to version %d", version + 1)


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


# --- opening ------------------------------------------------------------------------------


@dataclass
class OpenOptions:
    """How to open: ``check`` is ``"quick"`` (default), ``"full"`` or ``"none"``."""

    check: str = "quick"
    layout: SeriesLayout = field(default_factory=SeriesLayout)


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with AtlHyper's settings; transactions are explicit (autocommit mode)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    connection.execute("PRAGMA busy_timeout = 30000")
    if read_only:
        connection.execute("PRAGMA query_only = ON")
    else:
        # WAL: readers never block the writer; NORMAL: a commit survives a killed process
        # (not a power cut, which may lose the last commits, never the database).
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA journal_size_limit = 67108864")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _describe_first_bytes(head: bytes) -> str:
    printable = "".join(chr(b) if 32 <= b < 127 else "." for b in head[:16])
    return f"it starts with {printable!r}"


def open_database(path: Path, options: OpenOptions) -> tuple[sqlite3.Connection, int]:
    """Open (creating or migrating) the history file; returns the connection and the
    schema version it had before (0 for a new file).

    Raises ``StoreOpenError`` subclasses and leaves the file as it was when it is not an
    AtlHyper history file, is damaged, or comes from a newer AtlHyper.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        raise NotADatabase(path, "is a directory", _LEAVE)
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            head = handle.read(100)
        if not head.startswith(SQLITE_MAGIC):
            raise NotADatabase(
                path, f"is not an SQLite database ({_describe_first_bytes(head)})", _LEAVE
            )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = connect(path)
    try:
        version = _inspect(connection, path)
        if version == 0:
            # Must be set before the first table exists: lets retention hand pages back.
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("%s: WAL mode unavailable (journal mode %s)", path, mode)
        if options.check != "none" and version > 0:
            _check_integrity(connection, path, full=options.check == "full")
        migrate(connection, options.layout)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise CorruptDatabase(path, f"cannot be read ({error})", _LEAVE) from error
    except BaseException:
        connection.close()
        raise
    return connection, version


def _inspect(connection: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, after checking that it is ours (or empty)."""
    application_id = int(connection.execute("PRAGMA application_id").fetchone()[0])
    version = schema_version(connection)
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    if application_id != APPLICATION_ID:
        if application_id != 0 or tables or version != 0:
            owner = f"application id {application_id:#x}" if application_id else "no id"
            shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
            raise ForeignDatabase(
                path,
                f"is another application's SQLite database ({owner}; tables: {shown or '—'})",
                _LEAVE,
            )
        return 0
    if version > LATEST_VERSION:
        raise NewerSchema(
            path,
            f"was written by a newer AtlHyper (schema version {version}; this version "
            f"knows up to {LATEST_VERSION})",
            "Update AtlHyper, or point ATLHYPER_DB at another file; this one is left as is.",
        )
    return version


def _check_integrity(connection: sqlite3.Connection, path: Path, *, full: bool) -> None:
    pragma = "integrity_check" if full else "quick_check"
    problems = [row[0] for row in connection.execute(f"PRAGMA {pragma}(5)")]
    if problems != ["ok"]:
        raise CorruptDatabase(path, "is damaged: " + "; ".join(problems), _LEAVE)


def set_aside(path: Path) -> Path:
    """Rename a file that cannot be opened (and its -wal/-shm) out of the way, for a user
    who chose to start a new history; returns where it went. Never deletes anything."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.set-aside-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    return target
