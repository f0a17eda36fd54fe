"""The open anomalies of every cluster, most severe first."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.language import Language
from desktop.table_model import RowsTableModel
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.hub import Hub

_COLUMNS = ("severity", "cluster", "object", "reason", "pods", "since", "message")
_COLOURS = {Severity.CRITICAL: QColor("#d64545"), Severity.WARNING: QColor("#d98b1c")}

Index = QModelIndex | QPersistentModelIndex


class AnomalyTableModel(RowsTableModel[Anomaly]):
    columns = _COLUMNS

    def __init__(self, hub: Hub, language: Language, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self._hub = hub
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()  # a few dozen rows at most; a reset is the simple truth
        self._rows = self._hub.open_anomalies()
        self.endResetModel()

    def anomalies(self) -> list[Anomaly]:
        """The rows as shown (the table's own order)."""
        return list(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        anomaly = self._rows[index.row()]
        key = anomaly.key
        if role == Qt.ItemDataRole.DisplayRole:
            where = f"{key.namespace}/{key.name}" if key.namespace else key.name
            language = self._language
            return (
                language.tr(f"severity.{anomaly.severity.label}"),
                key.cluster,
                f"{key.kind} {where}",
                key.reason,
                str(anomaly.count),
                language.duration(time.time() - anomaly.first_seen),
                anomaly.text(language.code),
            )[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return _COLOURS.get(anomaly.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return anomaly.text(self._language.code)
        return None
