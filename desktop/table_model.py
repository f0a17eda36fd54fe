"""The part every table model shares: a list of rows under fixed, named columns."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from desktop.language import Language

Row = TypeVar("Row")
Index = QModelIndex | QPersistentModelIndex


class RowsTableModel(QAbstractTableModel, Generic[Row]):
    #: column keys; headers are the catalog messages ``column.<key>``
    columns: tuple[str, ...] = ()

    def __init__(self, language: Language, parent: QObject | None = None) -> None:
        # A parent (the window) makes Qt delete the model after the views that show it;
        # left to Python's garbage collector at exit, the order is arbitrary and crashes.
        super().__init__(parent)
        self._rows: list[Row] = []
        self._language = language
        language.changed.connect(self._language_changed)

    def _language_changed(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self._rows:
            last = self.index(len(self._rows) - 1, self.columnCount() - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._language.tr(f"column.{self.columns[section]}")
        return None
