"""The open anomalies of every cluster, most severe first."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.time_format import age
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.hub import Hub

_COLUMNS = ("Severity", "Cluster", "Object", "Reason", "Pods", "Since", "Message")
_COLOURS = {Severity.CRITICAL: QColor("#d64545"), Severity.WARNING: QColor("#d98b1c")}

Index = QModelIndex | QPersistentModelIndex


class AnomalyTableModel(QAbstractTableModel):
    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self._hub = hub
        self._rows: list[Anomaly] = []
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()  # a few dozen rows at most; a reset is the simple truth
        self._rows = self._hub.open_anomalies()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        anomaly = self._rows[index.row()]
        key = anomaly.key
        if role == Qt.ItemDataRole.DisplayRole:
            where = f"{key.namespace}/{key.name}" if key.namespace else key.name
            return (
                anomaly.severity.label,
                key.cluster,
                f"{key.kind} {where}",
                key.reason,
                str(anomaly.count),
                age(time.time() - anomaly.first_seen),
                anomaly.message,
            )[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return _COLOURS.get(anomaly.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return anomaly.message
        return None
