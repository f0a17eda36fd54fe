"""``HistoryStore``: the public face of the history file (see the package docstring)."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition
from headless_agent.store import audit
from headless_agent.store import conversations as chats
from headless_agent.store import record_reading as reading
from headless_agent.store import record_writing as writing
from headless_agent.store.audit import AuditVerification
from headless_agent.store.conversations import ConversationInfo, ConversationMessage
from headless_agent.store.identity import ClusterIdentity
from headless_agent.store.paths import default_history_path
from headless_agent.store.records import (
    AnomalyEpisode,
    AuditEntry,
    ClusterInfo,
    OutboxAlert,
    PodRestart,
    PodRestartObservation,
    Silence,
    SloWindow,
    StoredEvent,
)
from headless_agent.store.retention import (
    RetentionRule,
    RetentionSettings,
    SizeReport,
    size_report,
)
from headless_agent.store.samples import (
    NodeSampleBlock,
    NodeSamples,
    SeriesInfo,
    SeriesKind,
    SeriesPoints,
    SeriesSelector,
)
from headless_agent.store.schema import (
    OpenOptions,
    SeriesLayout,
    connect,
    open_database,
    read_layout,
)
from headless_agent.store.series_reading import SeriesReader
from headless_agent.store.writer import Writer, WriterContext, WriterOptions, WriterStatus

if TYPE_CHECKING:  # the state package pulls in the Kubernetes client; recording needs none
    from headless_agent.state.cluster_state import ClusterState
    from headless_agent.state.records import EventRecord

log = logging.getLogger(__name__)
T = TypeVar("T")


class HistoryStore:
    """One history file: a writer thread, reader connections per thread, and the API.

    Record methods (``record_*``, ``bind_cluster``, ``set_retention``, the outbox marks)
    only queue work and return at once; they are safe on the trio thread. Query methods
    block on SQLite and may run on any thread (from trio: ``trio.to_thread.run_sync``).
    """

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        layout: SeriesLayout,
        *,
        clock: Callable[[], float],
        options: WriterOptions,
        previous_version: int,
    ) -> None:
        self.path = path
        self.layout = layout
        #: the schema version the file had before it was opened (0: it was created)
        self.previous_version = previous_version
        #: the store's notion of now (injected in tests and benchmarks)
        self.clock = clock
        self.retention_settings = RetentionSettings(layout)
        self.retention_settings.load(connection)
        self._writer = Writer(connection, layout, self.retention_settings, clock, options)
        self._write_connection = connection
        self._series_reader = SeriesReader(layout, clock, self.retention_settings.max_age)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # Queries in flight, so that close() never pulls a connection out from under one
        # (a query abandoned by a cancelled caller may still be running in its thread).
        self._queries = threading.Condition()
        self._running_queries = 0
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        layout: SeriesLayout | None = None,
        check: str = "quick",
        clock: Callable[[], float] = time.time,
        options: WriterOptions | None = None,
        start: bool = True,
    ) -> HistoryStore:
        """Open (or create) the history file and start its writer.

        ``path`` None means the default location (``ATLHYPER_DB``, else the platform's
        data directory). ``layout`` applies to a new file; an existing file keeps its own
        (its retention defaults come from ``layout``). Raises ``StoreOpenError`` for a file
        that is not AtlHyper's, is damaged, or is newer than this code, and leaves it as is.
        Blocking: from trio, call it through ``trio.to_thread.run_sync``.
        """
        target = default_history_path(path)
        chosen = layout or SeriesLayout()
        connection, version = open_database(target, OpenOptions(check=check, layout=chosen))
        stored = read_layout(connection, chosen)
        store = cls(
            target,
            connection,
            stored,
            clock=clock,
            options=options or WriterOptions(),
            previous_version=version,
        )
        if start:
            store.start()
        return store

    # --- lifetime --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (``open`` does this unless told not to)."""
        self._writer.start()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the writer for the life of a trio task: start it, and on cancellation flush
        what is queued and close the file (in a worker thread, shielded)."""
        self.start()
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self.close)

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until everything recorded so far is committed."""
        self._writer.wait(timeout=timeout)

    def settle(self, timeout: float | None = None) -> None:
        """Like ``flush``, and also seal every due window and compact every finished span."""
        self._writer.wait(settle=True, timeout=timeout)

    def run_retention(self, timeout: float | None = None) -> None:
        """Apply retention now (it also runs on its own schedule) and wait for it."""
        self._writer.wait(retention=True, timeout=timeout)

    def close(self) -> None:
        """Flush, stop the writer and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        with self._queries:
            self._queries.wait_for(lambda: self._running_queries == 0)
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()
        self._write_connection.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def status(self) -> WriterStatus:
        return self._writer.status

    # --- recording (non-blocking) ----------------------------------------------------------

    def _submit(self, apply: Callable[[WriterContext], None], *, samples: int = 0) -> bool:
        if self._closed:
            raise RuntimeError("the history store is closed")
        return self._writer.submit(apply, samples=samples)

    def bind_cluster(self, name: str, identity: ClusterIdentity) -> None:
        """History recorded under ``name`` belongs to ``identity`` from now on (and what
        was recorded under ``name`` before the identity was known is folded into it)."""
        self._submit(lambda w: _ignore(w.clusters.bind(name, identity)))

    def record_transition(self, cluster: str, transition: Transition) -> None:
        """An anomaly opened, changed or resolved. Fits ``Hub.transition_listeners``."""
        at = transition.at if transition.at is not None else self.clock()
        self._submit(
            lambda w: writing.record_transition(
                w.db, w.clusters.cluster_id(cluster), transition, at
            )
        )

    def reconcile_open_anomalies(
        self, cluster: str, still_open: Iterable[Anomaly | AnomalyKey]
    ) -> None:
        """After a cluster's first sync: episodes stored as open that detection no longer
        reports (as anomalies or their keys) ended while AtlHyper was not watching; close
        them now."""
        keys = set()
        for item in still_open:
            key = item.key if isinstance(item, Anomaly) else item
            keys.add((key.kind, key.namespace, key.name, key.reason))
        at = self.clock()
        self._submit(
            lambda w: _ignore(
                writing.close_missing_anomalies(w.db, w.clusters.cluster_id(cluster), keys, at)
            )
        )

    def record_events(self, cluster: str, events: Iterable[EventRecord]) -> None:
        """Warning events (others are ignored), deduplicated by their UID."""
        warnings = [e for e in events if e.type == "Warning"]
        if warnings:
            self._submit(
                lambda w: writing.record_events(w.db, w.clusters.cluster_id(cluster), warnings)
            )

    def record_node_samples(
        self, cluster: str, samples: Iterable[NodeSamples] | NodeSampleBlock
    ) -> bool:
        """Node metrics: scrapes, or a block of many scrapes of one node. Returns False if
        the writer is so far behind that the samples were dropped (they are counted)."""
        blocks = [samples] if isinstance(samples, NodeSampleBlock) else NodeSampleBlock.of(samples)
        count = sum(int(b.values.size) for b in blocks)
        if not count:
            return True

        def apply(w: WriterContext) -> None:
            cluster_id = w.clusters.cluster_id(cluster)
            for block in blocks:
                w.series.add_block(cluster_id, block)

        return self._submit(apply, samples=count)

    def record_pod_restarts(
        self, cluster: str, observations: Iterable[PodRestartObservation]
    ) -> None:
        seen = list(observations)
        if seen:
            self._submit(
                lambda w: writing.record_pod_restarts(
                    w.db, w.clusters.cluster_id(cluster), seen, w.restart_counts
                )
            )

    def record_slo_window(self, cluster: str, window: SloWindow) -> None:
        self._submit(
            lambda w: writing.record_slo_window(w.db, w.clusters.cluster_id(cluster), window)
        )

    def record_slo_minutes(
        self,
        cluster: str,
        windows: Sequence[SloWindow],
        *,
        rollup: float = 3600.0,
        keep_minutes: float = 35 * 86_400.0,
    ) -> None:
        """Per-minute SLO windows, and the rollups (``rollup`` seconds long) they fall in,
        recomputed from every minute stored for them. Minutes older than ``keep_minutes``
        before the newest one written are dropped (their rollups stay, for the ``slo``
        retention): views read rollups beyond a day, burn rates at most 4 days back."""
        chosen = list(windows)
        if not chosen:
            return

        def apply(w: WriterContext) -> None:
            cluster_id = w.clusters.cluster_id(cluster)
            touched = set()
            for window in chosen:
                writing.record_slo_window(w.db, cluster_id, window)
                start = window.window_start // rollup * rollup
                touched.add((window.slo, start, window.window_seconds))
            for slo, start, step in sorted(touched):
                writing.roll_up_slo_windows(w.db, cluster_id, slo, start, rollup, step)
            newest = max(window.window_start for window in chosen)
            w.db.execute(
                "DELETE FROM slo_windows WHERE cluster_id = ? AND window_seconds < ? "
                "AND window_start < ?",
                (cluster_id, rollup, newest - keep_minutes),
            )

        self._submit(apply)

    def record_audit(self, entry: AuditEntry, *, once_per_key: bool = False) -> None:
        """Append to the audit log; ``once_per_key`` skips an entry whose command key is
        already there (an agent's copy of a command this hub recorded itself)."""

        def apply(w: WriterContext) -> None:
            if once_per_key and entry.request_key and audit.has_key(w.db, entry.request_key):
                return
            cluster_id = w.clusters.cluster_id(entry.cluster) if entry.cluster else None
            writing.record_audit(w.db, cluster_id, entry)

        self._submit(apply)

    def enqueue_alert(self, alert: OutboxAlert) -> None:
        """Put an alert in the durable outbox (a second one with the same channel and
        dedup key is ignored)."""
        self._submit(lambda w: writing.enqueue_alert(w.db, alert))

    def add_silence(self, silence: Silence) -> None:
        def apply(w: WriterContext) -> None:
            w.db.execute(
                "INSERT INTO silences (created_at, expires_at, cluster, namespace, name, reason, "
                "created_by, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (silence.created_at, silence.expires_at, silence.cluster, silence.namespace,
                 silence.name, silence.reason, silence.created_by, silence.comment),
            )  # fmt: skip

        self._submit(apply)

    def expire_silence(self, silence_id: int, at: float) -> None:
        self._submit(
            lambda w: _ignore(
                w.db.execute(
                    "UPDATE silences SET expires_at = MIN(expires_at, ?) WHERE id = ?",
                    (at, silence_id),
                )
            )
        )

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Every silence (or those active at a moment), newest first."""

        def query(db: sqlite3.Connection) -> list[Silence]:
            where = ""
            params: tuple[float, ...] = ()
            if active_at is not None:
                where, params = "WHERE created_at <= ? AND expires_at > ?", (active_at, active_at)
            rows = db.execute(
                "SELECT created_at, expires_at, cluster, namespace, name, reason, created_by, "
                f"comment, id FROM silences {where} ORDER BY created_at DESC",
                params,
            )
            return [Silence(*row) for row in rows]

        return self._read(query)

    def mark_alert_delivered(self, channel: str, dedup_key: str, at: float) -> None:
        self._submit(
            lambda w: writing.mark_alert(
                w.db, channel, dedup_key, delivered_at=at, error="", retry_at=None
            )
        )

    def mark_alert_failed(
        self, channel: str, dedup_key: str, error: str, *, retry_at: float | None = None
    ) -> None:
        """A failed attempt: retried from ``retry_at``, or failed for good if None."""
        self._submit(
            lambda w: writing.mark_alert(
                w.db, channel, dedup_key, delivered_at=None, error=error, retry_at=retry_at
            )
        )

    # --- retention settings ----------------------------------------------------------------

    def retention(self) -> dict[str, RetentionRule]:
        """Every kind of data and its limits (defaults overlaid with the user's)."""
        return self.retention_settings.rules()

    def set_retention(self, kind: str, rule: RetentionRule) -> None:
        """Change one kind's limits (see ``retention()`` for the kinds). Stored in the file;
        applied at the next retention pass, or now with ``run_retention()``."""
        self.retention_settings.check(kind, rule)
        self._submit(lambda w: w.retention.store(w.db, kind, rule))

    # --- queries (blocking, any thread) ----------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._closed:
                raise RuntimeError("the history store is closed")
            connection = connect(self.path, read_only=True)
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a query in one read transaction: a consistent snapshot of the file."""
        with self._queries:
            if self._closed:
                raise RuntimeError("the history store is closed")
            self._running_queries += 1
        try:
            db = self._reader()
            db.execute("BEGIN")
            try:
                return query(db)
            finally:
                db.execute("COMMIT")
        finally:
            with self._queries:
                self._running_queries -= 1
                self._queries.notify_all()

    def clusters(self) -> list[ClusterInfo]:
        return self._read(reading.clusters)

    def anomaly_timeline(
        self, cluster: str, start: float, end: float, *, open_only: bool = False
    ) -> list[AnomalyEpisode]:
        """What went wrong in ``cluster`` between ``start`` and ``end``: every anomaly
        episode open at some moment of that range, with its transitions, oldest first."""

        def query(db: sqlite3.Connection) -> list[AnomalyEpisode]:
            cluster_id, name = reading.resolve_cluster(db, cluster)
            return reading.anomaly_timeline(db, cluster_id, name, start, end, open_only=open_only)

        return self._read(query)

    def search_events(
        self,
        cluster: str | None = None,
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
        """Warning events of one cluster (or all), newest first (see ``record_reading``)."""

        def query(db: sqlite3.Connection) -> list[StoredEvent]:
            if cluster is None:
                ids = {
                    int(i): str(n) for i, n in db.execute("SELECT id, display_name FROM clusters")
                }
            else:
                cluster_id, name = reading.resolve_cluster(db, cluster)
                ids = {cluster_id: name}
            if not ids:
                return []
            return reading.search_events(
                db,
                ids,
                text=text,
                object_kind=object_kind,
                object_namespace=object_namespace,
                object_name=object_name,
                reason=reason,
                since=since,
                until=until,
                limit=limit,
            )

        return self._read(query)

    def list_series(self, selector: SeriesSelector) -> list[SeriesInfo]:
        def query(db: sqlite3.Connection) -> list[SeriesInfo]:
            cluster_id, name = reading.resolve_cluster(db, selector.cluster)
            return [
                SeriesInfo(
                    name, s.node, s.name, SeriesKind.COUNTER if s.is_counter else SeriesKind.GAUGE
                )
                for s in self._series_reader.series(db, cluster_id, selector)
            ]

        return self._read(query)

    def query_series(
        self,
        selector: SeriesSelector,
        start: float,
        end: float,
        *,
        max_points: int = 1500,
        resolution: str | None = None,
    ) -> list[SeriesPoints]:
        """Chart data for a set of series over [start, end], at most ``max_points`` points
        per series; the store picks the resolution (see ``series_reading``) unless
        ``resolution`` names a tier ("raw", "1m", ...)."""
        if max_points < 3:
            raise ValueError("a chart needs at least 3 points")
        if resolution is not None and resolution not in [t.name for t in self.layout.tiers]:
            raise ValueError(f"no resolution {resolution!r}; the file has {self.layout.tiers}")

        def query(db: sqlite3.Connection) -> list[SeriesPoints]:
            cluster_id, name = reading.resolve_cluster(db, selector.cluster)
            return self._series_reader.query(
                db, name, cluster_id, selector, start, end, max_points, resolution
            )

        return self._read(query)

    def pod_restarts(
        self,
        cluster: str,
        start: float,
        end: float,
        *,
        namespace: str | None = None,
        pod: str | None = None,
        owner: tuple[str, str] | None = None,
    ) -> list[PodRestart]:
        def query(db: sqlite3.Connection) -> list[PodRestart]:
            cluster_id, name = reading.resolve_cluster(db, cluster)
            return reading.pod_restarts(
                db, cluster_id, name, start, end, namespace=namespace, pod=pod, owner=owner
            )

        return self._read(query)

    def slo_windows(self, cluster: str, slo: str, start: float, end: float) -> list[SloWindow]:
        def query(db: sqlite3.Connection) -> list[SloWindow]:
            cluster_id, _ = reading.resolve_cluster(db, cluster)
            return reading.slo_windows(db, cluster_id, slo, start, end)

        return self._read(query)

    def slo_traffic(
        self, cluster: str, start: float, end: float, *, seconds: float = 60.0
    ) -> list[SloWindow]:
        """Every SLO target's windows of ``seconds`` (60: minutes, 3600: the hourly
        rollups) that start in [start, end), oldest first; none for an unknown cluster."""

        def query(db: sqlite3.Connection) -> list[SloWindow]:
            try:
                cluster_id, _ = reading.resolve_cluster(db, cluster)
            except reading.UnknownCluster:
                return []
            return reading.slo_traffic(db, cluster_id, seconds, start, end)

        return self._read(query)

    def audit_log(
        self, start: float, end: float, *, cluster: str | None = None, action: str | None = None
    ) -> list[AuditEntry]:
        def query(db: sqlite3.Connection) -> list[AuditEntry]:
            cluster_id = reading.resolve_cluster(db, cluster)[0] if cluster else None
            return reading.audit_entries(db, start, end, cluster_id=cluster_id, action=action)

        return self._read(query)

    def verify_audit(self) -> AuditVerification:
        """Walk the audit log's hash chain; names the first entry that was tampered with."""
        return self._read(audit.verify)

    def export_audit(self, fmt: str) -> str:
        """The whole audit log as ``csv`` or ``json``, hashes included."""
        return self._read(lambda db: audit.export(db, fmt))

    def alert_outbox(
        self,
        *,
        states: Sequence[str] = ("pending",),
        due_before: float | None = None,
        limit: int = 100,
        channel: str | None = None,
        in_order: bool = False,
    ) -> list[OutboxAlert]:
        """Alerts in the given states, due ones first or (``in_order``) as they were
        written; ``due_before``: only those whose next attempt is due by then."""
        order = "written" if in_order else "due"
        return self._read(
            lambda db: reading.outbox(
                db,
                states=states,
                due_before=due_before,
                limit=limit,
                order=order,
                channel=channel,
            )
        )

    def alert_deliveries(self, limit: int = 500) -> list[OutboxAlert]:
        """The latest notifications in every state, newest first (the delivery history)."""
        return self._read(
            lambda db: reading.outbox(
                db, states=("pending", "delivered", "failed"), limit=limit, order="newest"
            )
        )

    def size_report(self) -> SizeReport:
        """Bytes per kind of data, as the pages on disk (reads the whole file's page map:
        about a second per GiB)."""
        return self._read(
            lambda db: size_report(db, self.path, self.layout, self.retention_settings)
        )

    # --- the assistant's conversations -----------------------------------------------------

    def record_conversation(self, info: ConversationInfo) -> None:
        """Start a conversation (a second start with the same key is ignored)."""
        self._submit(lambda w: chats.start(w.db, info))

    def record_conversation_message(self, message: ConversationMessage) -> None:
        self._submit(lambda w: chats.append(w.db, message))

    def conversations(self, limit: int = 50) -> list[ConversationInfo]:
        return self._read(lambda db: chats.conversations(db, limit))

    def conversation_messages(self, key: str) -> list[ConversationMessage]:
        return self._read(lambda db: chats.messages(db, key))

    def assistant_tokens_since(self, since: float) -> int:
        """Tokens the assistant's answers cost since ``since`` (its daily budget)."""
        return self._read(lambda db: chats.tokens_since(db, since))

    # --- following a live cluster ----------------------------------------------------------

    async def follow(self, cluster: str, state: ClusterState) -> None:
        """Record a watched cluster's Warning events and pod restarts until cancelled, and
        bind its identity as soon as its ``kube-system`` namespace is known."""
        from headless_agent.store.following import follow_cluster

        await follow_cluster(self, cluster, state)


def _ignore(_: Any) -> None:
    return None
