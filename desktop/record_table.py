"""A cluster's records of some kinds as a table, kept current from its change stream.

Rows change in place: an update repaints one row, an add or delete inserts or removes one;
the model is never reset for a change, so selection and scroll position survive. Each
concrete table names its kinds, its columns (catalog keys ``column.<name>``) and how a
record becomes cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.language import Language
from desktop.table_model import RowsTableModel
from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import Record

Index = QModelIndex | QPersistentModelIndex
RowKey = tuple[str, str, str]  # (kind, namespace, name)

RED, GREEN, AMBER = QColor("#d64545"), QColor("#2e9e5b"), QColor("#d98b1c")


class RecordTableModel(RowsTableModel[tuple[str, Record]]):
    kinds: tuple[str, ...] = ()

    def __init__(self, language: Language, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self._row_of: dict[RowKey, int] = {}

    # --- what a concrete table says --------------------------------------------------------

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        """One value per column; numbers stay numbers so they sort as numbers."""
        raise NotImplementedError

    def colour(self, record: Record, column: int) -> QColor | None:
        return None

    # --- keeping current -------------------------------------------------------------------

    def show(self, state: ClusterState | None) -> None:
        self.beginResetModel()
        rows = [] if state is None else [(k, r) for k in self.kinds for r in state.records(k)]
        self._rows = sorted(rows, key=lambda row: (row[1].namespace, row[1].name, row[0]))
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = {(k, r.namespace, r.name): i for i, (k, r) in enumerate(self._rows)}

    def apply(self, changes: list[Change]) -> None:
        """Apply a batch: updates and inserts in place, then every removal with one re-index
        (re-indexing per removal would cost O(rows) each time at tens of thousands of rows)."""
        removed: list[int] = []
        for change in changes:
            if change.kind not in self.kinds:
                continue
            key = (change.kind, *change.key)
            row = self._row_of.get(key)
            if change.new is None:
                if row is not None:
                    removed.append(row)
                    del self._row_of[key]
            elif row is None:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                self._row_of[key] = len(self._rows)
                self._rows.append((change.kind, change.new))
                self.endInsertRows()
            else:
                self._rows[row] = (change.kind, change.new)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))
        for row in sorted(removed, reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
        if removed:
            self._reindex()

    def record(self, row: int) -> Record:
        return self._rows[row][1]

    def kind_of(self, row: int) -> str:
        return self._rows[row][0]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        kind, record = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            value = self.cells(kind, record)[index.column()]
            return value if role == Qt.ItemDataRole.UserRole else str(value)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(record, index.column())
        return None
