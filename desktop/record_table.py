"""A cluster's records of some kinds as a table, kept current from its change stream, and
sorted by the table itself.

Rows change in place: an update repaints one row (or moves it, when its sort value
changed), an add or delete inserts or removes one; the model is never reset for a change,
so selection and scroll position survive. Each concrete table names its kinds, its columns
(catalog keys ``column.<name>``) and how a record becomes cells.

The model sorts itself instead of leaving it to a QSortFilterProxyModel: a proxy re-sorts
a reset model through ``data()``, two Python calls per comparison — about 900,000 calls
and seconds of frozen window when a cluster of 30,000 pods is shown. Here each row's cells
are computed once when it arrives, its position is a key in one sorted list (bisect
finds it in O(log n)), and showing a cluster is one Python sort. The proxy in front
(desktop.table_view) only filters.

A table shows one cluster or several at once ("all clusters"): every row knows its
cluster, shown in a last column of its own (the window hides it for one cluster).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.language import Language
from desktop.table_model import RowsTableModel
from headless_agent.state.ages import age
from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import Record

Index = QModelIndex | QPersistentModelIndex
#: a row's identity, in the table's default order: (namespace, name, kind, cluster)
Identity = tuple[str, str, str, str]

RED, GREEN, AMBER = QColor("#d64545"), QColor("#2e9e5b"), QColor("#d98b1c")


class Age:
    """A creation time, shown as kubectl's age at the moment the cell is drawn (so a
    cached cell never goes stale) and sorted youngest first."""

    __slots__ = ("created",)

    def __init__(self, created: float) -> None:
        self.created = created

    def __str__(self) -> str:
        return age(time.time() - self.created) if self.created else "—"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Age) and other.created == self.created

    def __hash__(self) -> int:
        return hash(self.created)


def _comparable(value: Any, descending: bool) -> tuple[int, Any]:
    """A sort key for any cell, ascending or descending: numbers before text, text
    case-insensitive, and empty cells last either way. Descending inverts the value, not
    the whole order, so rows with equal cells stay in namespace and name order."""
    if isinstance(value, Age):
        if not value.created:
            return (2, 0)
        value = -value.created  # ascending age: youngest first
    if value is None or value == "—":
        return (2, 0)
    if isinstance(value, int | float):
        return (0, -value if descending else value)
    text = str(value).casefold()
    if not descending:
        return (1, text)
    # Text in reverse: each character inverted, and a last element above any of them so
    # that "abc" comes before "ab".
    return (1, (*(-ord(c) for c in text), 1))


@dataclass(slots=True)
class _Row:
    kind: str
    record: Record
    cluster: str
    cells: Sequence[Any]
    #: where the row sits in the sorted order: (sort value, identity)
    position: tuple[Any, Identity]


class RecordTableModel(RowsTableModel[tuple[str, Record]]):
    kinds: tuple[str, ...] = ()
    #: the window's sorting proxy hands sorting to this model (desktop.table_view)
    sorts_itself = True

    def __init__(self, language: Language, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self._by_identity: dict[Identity, _Row] = {}
        #: every row's position key, in the order shown
        self._order: list[tuple[Any, Identity]] = []
        self._sort_column = -1
        self._descending = False
        #: the cluster of changes applied without one (the table shows one cluster)
        self._shown_cluster = ""

    @property
    def cluster_column(self) -> int:
        """The column naming each row's cluster (after the table's own)."""
        return len(self.columns)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

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
        """One value per column; numbers stay numbers so they sort as numbers, and a
        creation time is an ``Age``. Computed once per version of a record."""
        raise NotImplementedError

    def colour(self, record: Record, column: int) -> QColor | None:
        return None

    # --- rows and their order ----------------------------------------------------------------

    def _position(self, identity: Identity, cells: Sequence[Any]) -> tuple[Any, Identity]:
        column = self._sort_column
        if column < 0:
            return ((), identity)
        value = identity[3] if column == self.cluster_column else cells[column]
        return (_comparable(value, self._descending), identity)

    def _row_at(self, row: int) -> _Row:
        return self._by_identity[self._order[row][1]]

    def _new_row(self, kind: str, record: Record, cluster: str) -> _Row:
        identity = (record.namespace, record.name, kind, cluster)
        cells = self.cells(kind, record)
        return _Row(kind, record, cluster, cells, self._position(identity, cells))

    # --- keeping current -------------------------------------------------------------------

    def show(self, state: ClusterState | None) -> None:
        self.show_all([] if state is None else [state])

    def show_all(self, states: list[ClusterState]) -> None:
        """Several clusters' records in one table (each row knowing its cluster)."""
        self.beginResetModel()
        self._shown_cluster = states[0].cluster if len(states) == 1 else ""
        rows = [
            self._new_row(kind, record, state.cluster)
            for state in states
            for kind in self.kinds
            for record in state.records(kind)
        ]
        self._by_identity = {row.position[1]: row for row in rows}
        self._order = sorted(row.position for row in rows)
        self.endResetModel()

    def apply(self, changes: list[Change], cluster: str | None = None) -> None:
        """Apply a batch (of ``cluster``, when the table shows several): each update and
        removal in place, found by bisection; new rows gathered and inserted in runs (a
        LIST's pages arrive as thousands of adds, mostly next to each other)."""
        if cluster is None:
            cluster = self._shown_cluster
        added: dict[Identity, _Row] = {}
        for change in changes:
            if change.kind not in self.kinds:
                continue
            identity = (*change.key, change.kind, cluster)
            if change.new is not None and (identity in added or identity not in self._by_identity):
                added[identity] = self._new_row(change.kind, change.new, cluster)
                continue
            if added:  # what follows may touch a row just added: place those first
                self._insert_runs(added.values())
                added = {}
            old = self._by_identity.get(identity)  # type: ignore[call-overload]
            if change.new is None:
                if old is not None:
                    self._remove(old)
            elif old is not None:
                self._update(old, self._new_row(change.kind, change.new, cluster))
        if added:
            self._insert_runs(added.values())

    def _insert_runs(self, rows: Iterable[_Row]) -> None:
        """Insert rows, one beginInsertRows for each run that lands between the same two
        rows already shown."""
        new = sorted(rows, key=lambda row: row.position)
        start = 0
        while start < len(new):
            index = bisect_left(self._order, new[start].position)
            end = start + 1
            following = self._order[index] if index < len(self._order) else None
            while end < len(new) and (following is None or new[end].position < following):
                end += 1
            run = new[start:end]
            self.beginInsertRows(QModelIndex(), index, index + len(run) - 1)
            self._order[index:index] = [row.position for row in run]
            for row in run:
                self._by_identity[row.position[1]] = row
            self.endInsertRows()
            start = end

    def _remove(self, row: _Row) -> None:
        index = bisect_left(self._order, row.position)
        self.beginRemoveRows(QModelIndex(), index, index)
        del self._order[index]
        del self._by_identity[row.position[1]]
        self.endRemoveRows()

    def _update(self, old: _Row, new: _Row) -> None:
        row = bisect_left(self._order, old.position)
        if new.position != old.position:
            target = bisect_left(self._order, new.position)
            if target > row:
                target -= 1  # its place once the row has left its old one
            if target != row:
                # Qt counts the destination before the move: one past the row when down.
                destination = target + 1 if target > row else target
                self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination)
            del self._order[row]
            self._order.insert(target, new.position)
            self._by_identity[new.position[1]] = new
            if target != row:
                self.endMoveRows()
            row = target
        else:
            self._by_identity[new.position[1]] = new
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.cluster_column))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (-1: namespace and name); selections follow their rows."""

        def choose() -> None:
            self._sort_column = column if 0 <= column <= self.cluster_column else -1
            self._descending = order == Qt.SortOrder.DescendingOrder

        self._relayout(choose)

    def _language_changed(self) -> None:
        def translate() -> None:  # cells may hold translated words
            for row in self._by_identity.values():
                row.cells = self.cells(row.kind, row.record)

        self._relayout(translate)
        super()._language_changed()

    def _relayout(self, change: Callable[[], None]) -> None:
        """Re-sort every row after ``change``; persistent indexes (selection, current
        row) follow their rows."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        followed = [(self._row_at(i.row()).position[1], i.column()) for i in persistent]
        change()
        for identity, row in self._by_identity.items():
            row.position = self._position(identity, row.cells)
        self._order = sorted(row.position for row in self._by_identity.values())
        moved = [
            self.index(bisect_left(self._order, self._by_identity[i].position), column)
            for i, column in followed
        ]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def record(self, row: int) -> Record:
        return self._row_at(row).record

    def kind_of(self, row: int) -> str:
        return self._row_at(row).kind

    def cluster_of(self, row: int) -> str:
        return self._row_at(row).cluster

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._row_at(index.row()), index.column()
        if column == self.cluster_column:
            shown = role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole)
            return row.cluster if shown else None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(row.cells[column])
        if role == Qt.ItemDataRole.UserRole:  # plain values only: Qt keeps copies of them
            value = row.cells[column]
            return value.created if isinstance(value, Age) else value
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row.record, column)
        return None
