"""The open anomalies of every cluster, most severe first."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.table_model import RowsTableModel
from desktop.time_format import age
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.hub import Hub

_COLUMNS = ("Severity", "Cluster", "Object", "Reason", "Pods", "Since", "Message")
_COLOURS = {Severity.CRITICAL: QColor("#d64545"), Severity.WARNING: QColor("#d98b1c")}

Index = QModelIndex | QPersistentModelIndex


class AnomalyTableModel(RowsTableModel[Anomaly]):
    columns = _COLUMNS

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self._hub = hub
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()  # a few dozen rows at most; a reset is the simple truth
        self._rows = self._hub.open_anomalies()
        self.endResetModel()

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
