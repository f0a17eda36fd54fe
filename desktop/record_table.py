"""A cluster's records of some kinds as a table, kept current from its change stream.

Rows change in place: an update repaints one row, an add or delete inserts or removes one;
the model is never reset for a change, so selection and scroll position survive. Each
concrete table names its kinds, its columns (catalog keys ``column.<name>``) and how a
record becomes cells.

A table shows one cluster or several at once ("all clusters"): every row knows its
cluster, shown in a last column of its own (the window hides it for one cluster).
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
RowKey = tuple[str, str, str, str]  # (cluster, kind, namespace, name)

RED, GREEN, AMBER = QColor("#d64545"), QColor("#2e9e5b"), QColor("#d98b1c")


class RecordTableModel(RowsTableModel[tuple[str, Record]]):
    kinds: tuple[str, ...] = ()

    def __init__(self, language: Language, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self._row_of: dict[RowKey, int] = {}
        #: each row's cluster, parallel to the rows
        self._clusters: list[str] = []
        #: the cluster of changes applied without one (the table shows one cluster)
        self._shown_cluster = ""

    @property
    def cluster_column(self) -> int:
        """The column naming each row's cluster (after the table's own)."""
        return len(self.columns)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns) + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            section == self.cluster_column
            and orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
        ):
            return self._language.tr("column.cluster")
        return super().headerData(section, orientation, role)

    # --- what a concrete table says --------------------------------------------------------

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        """One value per column; numbers stay numbers so they sort as numbers."""
        raise NotImplementedError

    def colour(self, record: Record, column: int) -> QColor | None:
        return None

    # --- keeping current -------------------------------------------------------------------

    def show(self, state: ClusterState | None) -> None:
        self.show_all([] if state is None else [state])

    def show_all(self, states: list[ClusterState]) -> None:
        """Several clusters' records in one table (each row knowing its cluster)."""
        self.beginResetModel()
        self._shown_cluster = states[0].cluster if len(states) == 1 else ""
        rows = [
            (state.cluster, k, r) for state in states for k in self.kinds for r in state.records(k)
        ]
        rows.sort(key=lambda row: (row[2].namespace, row[2].name, row[1], row[0]))
        self._rows = [(k, r) for _, k, r in rows]
        self._clusters = [c for c, _, _ in rows]
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = {
            (c, k, r.namespace, r.name): i
            for i, (c, (k, r)) in enumerate(zip(self._clusters, self._rows, strict=True))
        }

    def apply(self, changes: list[Change], cluster: str | None = None) -> None:
        """Apply a batch (of ``cluster``, when the table shows several): updates and
        inserts in place, then every removal with one re-index (re-indexing per removal
        would cost O(rows) each time at tens of thousands of rows)."""
        if cluster is None:
            cluster = self._shown_cluster
        removed: list[int] = []
        for change in changes:
            if change.kind not in self.kinds:
                continue
            key = (cluster, change.kind, *change.key)
            row = self._row_of.get(key)
            if change.new is None:
                if row is not None:
                    removed.append(row)
                    del self._row_of[key]
            elif row is None:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                self._row_of[key] = len(self._rows)
                self._rows.append((change.kind, change.new))
                self._clusters.append(cluster)
                self.endInsertRows()
            else:
                self._rows[row] = (change.kind, change.new)
                self.dataChanged.emit(self.index(row, 0), self.index(row, self.cluster_column))
        for row in sorted(removed, reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            del self._clusters[row]
            self.endRemoveRows()
        if removed:
            self._reindex()

    def record(self, row: int) -> Record:
        return self._rows[row][1]

    def kind_of(self, row: int) -> str:
        return self._rows[row][0]

    def cluster_of(self, row: int) -> str:
        return self._clusters[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        kind, record = self._rows[index.row()]
        if index.column() == self.cluster_column:
            shown = role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole)
            return self._clusters[index.row()] if shown else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            value = self.cells(kind, record)[index.column()]
            return value if role == Qt.ItemDataRole.UserRole else str(value)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(record, index.column())
        return None
