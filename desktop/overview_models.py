"""What the Overview tab shows, computed: counts from a cluster's state, usage from the
store's node series, and the small tables of its cards.

Counting walks a ClusterState's nodes and pods once (30,000 pods take a few
milliseconds); the view decides how often (never more than every ``COUNT_INTERVAL``).
Usage is computed in a worker thread from what ``HistoryStore.query_series`` returned.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.alert_models import subject_of
from desktop.table_model import RowsTableModel
from headless_agent import i18n
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import NodeRecord, PodRecord
from headless_agent.store import OutboxAlert, SeriesPoints, StoredEvent

#: the node counts shown, in order (cordoned overlaps the other three)
NODE_STATES = ("ready", "not_ready", "unknown", "cordoned")
#: the pod counts shown, in order; every pod is in exactly one
POD_STATES = (
    "running",
    "pending",
    "succeeded",
    "failed",
    "crash_loop",
    "image_pull",
    "terminating",
    "unknown",
)
_IMAGE_PULL = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
_PHASES = {
    "Running": "running",
    "Pending": "pending",
    "Succeeded": "succeeded",
    "Failed": "failed",
}
IDLE = 'cpu_usage_percent{mode="idle"}'
MEMORY = "memory_used_percent"
USAGE_SERIES = (IDLE, MEMORY)
#: a node whose latest sample is older than this is left out of "now"
STALE_SAMPLE = 300.0

GREEN, AMBER, RED, GREY = "#2e9e5b", "#d98b1c", "#d64545", "#7a8794"
SEVERITY_COLOURS = {Severity.CRITICAL: QColor(RED), Severity.WARNING: QColor(AMBER)}


# --- counts ------------------------------------------------------------------------------------


@dataclass
class ClusterCounts:
    nodes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NODE_STATES, 0))
    pods: dict[str, int] = field(default_factory=lambda: dict.fromkeys(POD_STATES, 0))

    @property
    def node_total(self) -> int:
        return sum(self.nodes[s] for s in ("ready", "not_ready", "unknown"))

    @property
    def pod_total(self) -> int:
        return sum(self.pods.values())

    @classmethod
    def total(cls, parts: Iterable[ClusterCounts]) -> ClusterCounts:
        result = cls()
        for part in parts:
            for key, value in part.nodes.items():
                result.nodes[key] += value
            for key, value in part.pods.items():
                result.pods[key] += value
        return result


def pod_state(pod: PodRecord) -> str:
    """The one bucket of ``POD_STATES`` a pod counts in: a terminating pod, a crash loop
    or an image that cannot be pulled beats the phase."""
    if pod.deleting:
        return "terminating"
    for container in pod.containers:
        if container.state == "waiting":
            if container.reason == "CrashLoopBackOff":
                return "crash_loop"
            if container.reason in _IMAGE_PULL:
                return "image_pull"
    return _PHASES.get(pod.phase, "unknown")


def node_states(node: NodeRecord) -> tuple[str, ...]:
    ready = node.ready_status
    first = "ready" if ready == "True" else "not_ready" if ready == "False" else "unknown"
    return (first, "cordoned") if node.unschedulable else (first,)


def count_state(state: ClusterState) -> ClusterCounts:
    """One pass over the cluster's nodes and pods."""
    counts = ClusterCounts()
    nodes, pods = counts.nodes, counts.pods
    for node in state.records("Node"):
        if isinstance(node, NodeRecord):
            for name in node_states(node):
                nodes[name] += 1
    for pod in state.records("Pod"):
        if isinstance(pod, PodRecord):
            pods[pod_state(pod)] += 1
    return counts


def anomalies_by_severity(anomalies: Iterable[Anomaly]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for anomaly in anomalies:
        counts[anomaly.severity] += 1
    return counts


def top_anomalies(anomalies: Iterable[Anomaly], limit: int) -> list[Anomaly]:
    """Most severe first, then those affecting most objects, then the oldest."""
    return sorted(anomalies, key=lambda a: (-int(a.severity), -a.count, a.first_seen))[:limit]


# --- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """CPU and memory in percent, averaged over nodes: now (None: no recent sample) and
    per bucket over the range (NaN where no node reported)."""

    cpu_now: float | None
    memory_now: float | None
    times: npt.NDArray[np.float64]
    cpu: npt.NDArray[np.float64]
    memory: npt.NDArray[np.float64]
    nodes: int

    @classmethod
    def empty(cls) -> Usage:
        nothing = np.array([], dtype=np.float64)
        return cls(None, None, nothing, nothing, nothing, 0)


def usage_of(
    found: Sequence[SeriesPoints], start: float, end: float, buckets: int, now: float
) -> Usage:
    """Average CPU (100 − idle) and memory across nodes, from every node's series."""
    edges = np.linspace(start, end, buckets + 1)
    sums = {name: np.zeros(buckets) for name in USAGE_SERIES}
    counts = {name: np.zeros(buckets) for name in USAGE_SERIES}
    latest: dict[str, list[float]] = {name: [] for name in USAGE_SERIES}
    nodes: set[tuple[str, str]] = set()
    for points in found:
        name = points.series.name
        if name not in sums or not len(points):
            continue
        values = 100.0 - points.average if name == IDLE else points.average
        finite = np.isfinite(values)
        where = np.clip(np.searchsorted(edges, points.times, side="right") - 1, 0, buckets - 1)
        np.add.at(sums[name], where[finite], values[finite])
        np.add.at(counts[name], where[finite], 1)
        nodes.add((points.series.cluster, points.series.node))
        last = points.last[-1] if len(points.last) else np.nan
        last_value = 100.0 - last if name == IDLE else last
        if np.isfinite(last_value) and now - float(points.times[-1]) <= STALE_SAMPLE:
            latest[name].append(float(last_value))
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = {name: sums[name] / counts[name] for name in USAGE_SERIES}
    centres = (edges[:-1] + edges[1:]) / 2

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return Usage(
        mean(latest[IDLE]),
        mean(latest[MEMORY]),
        centres,
        curves[IDLE],
        curves[MEMORY],
        len(nodes),
    )


def alert_clusters(payload: Mapping[str, Any]) -> set[str]:
    """The clusters a notification speaks of."""
    documents = list(payload.get("alerts") or []) + list(payload.get("resolved") or [])
    return {str(d.get("cluster", "")) for d in documents if isinstance(d, Mapping)}


# --- the cards' tables -------------------------------------------------------------------------

Index = QModelIndex | QPersistentModelIndex


def clock_time(epoch: float, language: str) -> str:
    """The local time of day, or the date and time for something older than a day."""
    if time.time() - epoch > 86400:
        return i18n.format_time(epoch, language)
    offset = datetime.fromtimestamp(epoch, UTC).astimezone().utcoffset()
    local = epoch + (offset.total_seconds() if offset is not None else 0.0)
    return i18n.format_skeleton(local, "Hms", language)


def _where(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


class _CardTableModel(RowsTableModel[Any]):
    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()  # a handful of rows
        self._rows = list(rows)
        self.endResetModel()

    def row(self, number: int) -> Any:
        return self._rows[number]

    def cells(self, row: Any) -> Sequence[str]:
        raise NotImplementedError

    def colour(self, row: Any, column: int) -> QColor | None:
        return None

    def tooltip(self, row: Any) -> str | None:
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(row)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row)
        return None


class TopAnomalyModel(_CardTableModel):
    columns = ("severity", "cluster", "object", "message")

    def cells(self, row: Anomaly) -> Sequence[str]:
        key = row.key
        return (
            self._language.tr(f"severity.{row.severity.label}"),
            key.cluster,
            _where(key.kind, key.namespace, key.name),
            row.text(self._language.code),
        )

    def colour(self, row: Anomaly, column: int) -> QColor | None:
        return SEVERITY_COLOURS.get(row.severity) if column == 0 else None

    def tooltip(self, row: Anomaly) -> str:
        return row.text(self._language.code)


class RecentEventModel(_CardTableModel):
    columns = ("last_seen", "cluster", "object", "reason", "message")

    def cells(self, row: StoredEvent) -> Sequence[str]:
        seen = row.last_seen or row.first_seen
        return (
            clock_time(seen, self._language.code) if seen else "—",
            row.cluster,
            _where(row.object_kind, row.object_namespace, row.object_name),
            row.reason,
            row.message,
        )

    def colour(self, row: StoredEvent, column: int) -> QColor | None:
        return QColor(AMBER) if column == 3 else None

    def tooltip(self, row: StoredEvent) -> str:
        seen = row.last_seen or row.first_seen
        when = i18n.format_time(seen, self._language.code) if seen else ""
        return f"{when}\n{row.message}" if when else row.message


class RecentAlertModel(_CardTableModel):
    columns = ("created", "subject", "channel", "status")

    def cells(self, row: OutboxAlert) -> Sequence[str]:
        code = self._language.code
        return (
            clock_time(row.created_at, code),
            subject_of(row.payload, code),
            row.channel,
            self._language.tr(f"delivery.{row.state}"),
        )

    def colour(self, row: OutboxAlert, column: int) -> QColor | None:
        if column != 3:
            return None
        return QColor({"delivered": GREEN, "failed": RED}.get(row.state, AMBER))

    def tooltip(self, row: OutboxAlert) -> str:
        code = self._language.code
        lines = [i18n.format_time(row.created_at, code), subject_of(row.payload, code)]
        return "\n".join([*lines, row.last_error] if row.last_error else lines)
