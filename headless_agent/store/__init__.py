"""History: weeks to months of what happened to every cluster, in one SQLite file.

The store owns AtlHyper's history file: clusters and their identities, anomaly episodes,
Warning events, node metrics and pod restarts, SLO windows, the audit log and the alert
outbox — with retention, rollups and migrations. Nothing else in the engine writes SQL.

Opening and lifetime::

    store = HistoryStore.open()            # ATLHYPER_DB, else the platform's data dir
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)     # the writer; flushes and closes on cancel
        hub.transition_listeners.append(store.record_transition)
        nursery.start_soon(store.follow, name, handle.state)   # events, pod restarts

``HistoryStore.open(path)`` raises a ``StoreOpenError`` (``NotADatabase``,
``ForeignDatabase``, ``CorruptDatabase``, ``NewerSchema``) with a message for the user
and leaves such a file untouched; ``set_aside(path)`` moves it away if the user asks.

Recording — non-blocking, safe on the trio thread; a dedicated writer thread commits in
batches (``writer``):

- ``bind_cluster(name, cluster_identity(kube_system_uid, name))`` — history follows the
  cluster, not the context name (``follow`` does this by itself);
- ``record_transition(cluster, transition)`` — fits ``Hub.transition_listeners``;
  ``reconcile_open_anomalies(cluster, open_anomalies)`` after a first sync;
- ``record_events(cluster, events)`` — Warning events, deduplicated by UID;
- ``record_node_samples(cluster, [NodeSamples, ...] | NodeSampleBlock)``;
- ``record_pod_restarts``, ``record_slo_window``, ``record_audit``, ``enqueue_alert``,
  ``mark_alert_delivered``, ``mark_alert_failed``;
- ``record_slo_minutes(cluster, windows)`` — the SLO engine's minutes per Ingress route,
  with their hourly rollups recomputed;
- ``set_retention(kind, RetentionRule(max_age, max_bytes))``.

Querying — blocking, any thread (from trio: ``trio.to_thread.run_sync``):

- ``anomaly_timeline(cluster, t1, t2)`` — what went wrong between t1 and t2;
- ``search_events(cluster, text=, object_kind=, object_name=, reason=, since=, until=)``;
- ``query_series(SeriesSelector(cluster, nodes, names), t1, t2, max_points=1500)`` — chart
  data, resolution chosen by the store; ``list_series(selector)``;
- ``pod_restarts``, ``slo_windows``, ``audit_log``, ``alert_outbox``, ``clusters()``;
- ``slo_traffic(cluster, t1, t2, seconds=60 | 3600)`` — every route's SLO minutes or hours;
- ``verify_audit()`` and ``export_audit("csv" | "json")`` — the hash-chained audit log;
- ``retention()`` and ``size_report()`` — limits and bytes per kind of data.

``flush()``, ``settle()`` and ``run_retention()`` wait for the writer (tests, tools);
``close()`` flushes and closes.

Modules: ``schema`` (file checks, migrations, layout), ``codec`` (chunk encoding),
``rollup`` (exact, composable rollups), ``series_writing`` / ``series_reading`` (node
metrics), ``record_writing`` / ``record_reading`` (everything else), ``retention``,
``writer`` (the thread), ``identity``, ``paths``, ``samples`` and ``records`` (the
public shapes), ``history_store`` (this API).
"""

from headless_agent.store.audit import AuditVerification
from headless_agent.store.history_store import HistoryStore
from headless_agent.store.identity import ClusterIdentity, cluster_identity
from headless_agent.store.paths import ENVIRONMENT_VARIABLE, default_history_path
from headless_agent.store.record_reading import UnknownCluster
from headless_agent.store.records import (
    AnomalyEpisode,
    AuditEntry,
    ClusterInfo,
    EpisodeTransition,
    OutboxAlert,
    PodRestart,
    PodRestartObservation,
    Silence,
    SloWindow,
    StoredEvent,
)
from headless_agent.store.retention import KindUsage, RetentionRule, SizeReport
from headless_agent.store.samples import (
    NodeSampleBlock,
    NodeSamples,
    SeriesInfo,
    SeriesKind,
    SeriesPoints,
    SeriesSelector,
    series_name,
)
from headless_agent.store.schema import (
    LATEST_VERSION,
    CorruptDatabase,
    ForeignDatabase,
    NewerSchema,
    NotADatabase,
    SeriesLayout,
    StoreOpenError,
    TierSpec,
    set_aside,
)
from headless_agent.store.writer import WriterOptions, WriterStatus

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "LATEST_VERSION",
    "AnomalyEpisode",
    "AuditEntry",
    "AuditVerification",
    "ClusterIdentity",
    "ClusterInfo",
    "CorruptDatabase",
    "EpisodeTransition",
    "ForeignDatabase",
    "HistoryStore",
    "KindUsage",
    "NewerSchema",
    "NodeSampleBlock",
    "NodeSamples",
    "NotADatabase",
    "OutboxAlert",
    "PodRestart",
    "PodRestartObservation",
    "RetentionRule",
    "SeriesInfo",
    "SeriesKind",
    "SeriesLayout",
    "SeriesPoints",
    "SeriesSelector",
    "Silence",
    "SizeReport",
    "SloWindow",
    "StoreOpenError",
    "StoredEvent",
    "TierSpec",
    "UnknownCluster",
    "WriterOptions",
    "WriterStatus",
    "cluster_identity",
    "default_history_path",
    "series_name",
    "set_aside",
]
