"""How every table in the window looks and sorts: one place for the view's settings."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QHeaderView, QLineEdit, QTableView


class FilterProxy(QSortFilterProxyModel):
    """Text in any column, and — for a model of namespaced records — one namespace."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._namespace = ""

    def set_namespace(self, namespace: str) -> None:
        """Only rows of this namespace ("" for all)."""
        if namespace != self._namespace:
            self.beginFilterChange()
            self._namespace = namespace
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # A model that sorts itself (desktop.record_table) is far faster at tens of
        # thousands of rows than a proxy comparing through data(); the proxy then keeps
        # the model's order and only filters.
        source = self.sourceModel()
        if getattr(source, "sorts_itself", False):
            source.sort(column, order)
        else:
            super().sort(column, order)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self._namespace:
            record = getattr(self.sourceModel(), "record", None)
            if record is not None and record(row).namespace != self._namespace:
                return False
        return super().filterAcceptsRow(row, parent)


def sorting_proxy(
    model: QAbstractItemModel, parent: QObject, filter_field: QLineEdit | None = None
) -> FilterProxy:
    """Sorts by the cells' own values (``UserRole``); ``filter_field`` filters every column."""
    proxy = FilterProxy(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    if filter_field is not None:
        proxy.setFilterKeyColumn(-1)
        proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        filter_field.setClearButtonEnabled(True)
        filter_field.textChanged.connect(proxy.setFilterFixedString)
    return proxy


def table_view(model: QAbstractItemModel, widths: tuple[int, ...] = ()) -> QTableView:
    """A sortable table of rows; starting widths for the first columns, the last one takes
    the rest."""
    view = QTableView()
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    return view
