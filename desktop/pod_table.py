"""Pods of one cluster as a table model, kept current from the cluster's change stream.

Rows change in place: an update repaints one row, an add or delete inserts or removes
rows; the model is never reset for a change, so selection and scroll position survive.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.language import Language
from desktop.table_model import RowsTableModel
from desktop.time_format import age
from headless_agent.state.cluster_state import Change, ClusterState, ObjectKey
from headless_agent.state.records import PodRecord

_COLUMNS = ("namespace", "name", "status", "ready", "restarts", "node", "age")
_BAD = {"CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "ErrImagePull", "Error", "Evicted"}
_BAD |= {"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "Failed"}

Index = QModelIndex | QPersistentModelIndex


class PodTableModel(RowsTableModel[PodRecord]):
    columns = _COLUMNS

    def __init__(self, language: Language) -> None:
        super().__init__(language)
        self._row_of: dict[ObjectKey, int] = {}

    def show(self, state: ClusterState | None) -> None:
        """Show a cluster's pods (or none)."""
        self.beginResetModel()
        pods = (
            [] if state is None else [p for p in state.records("Pod") if isinstance(p, PodRecord)]
        )
        self._rows = sorted(pods, key=lambda p: p.key)
        self._row_of = {p.key: i for i, p in enumerate(self._rows)}
        self.endResetModel()

    def apply(self, changes: list[Change]) -> None:
        removed = False
        for change in changes:
            if change.kind != "Pod":
                continue
            row = self._row_of.get(change.key)
            if isinstance(change.new, PodRecord):
                if row is None:
                    self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                    self._row_of[change.key] = len(self._rows)
                    self._rows.append(change.new)
                    self.endInsertRows()
                else:
                    self._rows[row] = change.new
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(_COLUMNS) - 1))
            elif row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                del self._row_of[change.key]
                self.endRemoveRows()
                removed = True
            if removed:
                self._row_of = {p.key: i for i, p in enumerate(self._rows)}
                removed = False

    async def follow(self, state: ClusterState) -> None:
        """Show the state's pods and follow its changes until cancelled."""
        subscription = state.subscribe()
        try:
            self.show(state)
            async for batch in subscription:
                self.apply(batch)
        finally:
            subscription.close()

    def pod(self, row: int) -> PodRecord:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        pod = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            containers = [c for c in pod.containers if not c.init]
            ready = f"{sum(c.ready for c in containers)}/{len(containers)}"
            values = (
                pod.namespace,
                pod.name,
                pod.display_status,
                ready,
                pod.restart_count,
                pod.node,
                age(time.time() - pod.created) if pod.created else "—",  # kubectl's units
            )
            value = values[index.column()]
            return value if role == Qt.ItemDataRole.UserRole else str(value)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 2:
            status = pod.display_status
            if status in _BAD:
                return QColor("#d64545")
            if status == "Running" and pod.ready:
                return QColor("#2e9e5b")
            return QColor("#d98b1c")
        return None
