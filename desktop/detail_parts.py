"""Pieces the detail pages share: a grid of facts, small read-only tables whose headers
come from the catalogs, and a task that follows one cluster's changes for a page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

import trio
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from desktop.pod_table import PodTableModel
from headless_agent import i18n
from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import PodRecord, Record

#: (shown text, colour or None) — a table cell
Cell = str | tuple[str, QColor | None]


class Facts(QWidget):
    """Label and value pairs in columns; labels are catalog ids, values are data."""

    def __init__(
        self,
        language: Language,
        keys: Sequence[str],
        columns: int = 3,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.keys = tuple(keys)
        self.labels: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        self.shown: dict[str, str] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        rows = -(-len(self.keys) // columns)
        for index, key in enumerate(self.keys):
            row, column = index % rows, index // rows
            label = QLabel()
            value = QLabel("—")
            value.setProperty("dynamic", True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, row, column * 2, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(value, row, column * 2 + 1)
            grid.setColumnStretch(column * 2 + 1, 1)
            self.labels[key], self.values[key] = label, value
        self.retranslate()

    def retranslate(self) -> None:
        for key, label in self.labels.items():
            label.setText(self.language.tr(key))

    def set(self, key: str, text: str, colour: QColor | None = None) -> None:
        """A value; in ``colour`` and bold when given (rich text, not a style sheet: a
        style sheet would keep the palette of the theme it was set in)."""
        shown = escape(text or "—")
        if colour is not None:
            shown = f"<b style='color:{colour.name()}'>{shown}</b>"
        self.values[key].setText(shown)
        self.shown[key] = text or "—"

    def text(self, key: str) -> str:
        """A value as plain text."""
        return self.shown.get(key, "—")


class DetailTable(QTableWidget):
    """A read-only table of a few rows; ``columns`` are catalog ids of the headers."""

    def __init__(
        self, language: Language, columns: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(0, len(columns), parent)
        self.language = language
        self.columns = tuple(columns)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.retranslate()

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels([self.language.tr(c) for c in self.columns])

    def set_widths(self, widths: Sequence[int]) -> None:
        for column, width in enumerate(widths):
            self.setColumnWidth(column, width)

    def fill(self, rows: Sequence[Sequence[Cell]], tooltips: Sequence[str] = ()) -> None:
        self.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, cell in enumerate(cells):
                text, colour = cell if isinstance(cell, tuple) else (cell, None)
                item = QTableWidgetItem(text)
                if colour is not None:
                    item.setForeground(colour)
                if row < len(tooltips) and tooltips[row]:
                    item.setToolTip(tooltips[row])
                self.setItem(row, column, item)

    def texts(self, column: int) -> list[str]:
        return [self.item(row, column).text() for row in range(self.rowCount())]


def emphasise(label: QLabel, size: float = 1.0) -> QLabel:
    """Bold (and ``size`` times larger) through the font, which follows theme changes."""
    font = label.font()
    font.setBold(True)
    if size != 1.0:
        font.setPointSizeF(font.pointSizeF() * size)
    label.setFont(font)
    return label


def when(epoch: float | None, language: Language) -> str:
    return i18n.format_time(epoch, language.code) if epoch else "—"


def gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"


def cores(milli: int) -> str:
    return f"{milli / 1000:g}"


async def follow_changes(
    state: ClusterState, scope: trio.CancelScope, apply: Callable[[list[Change]], None]
) -> None:
    """Hand every batch of ``state``'s changes to ``apply`` until ``scope`` is cancelled."""
    with scope:
        subscription = state.subscribe()
        try:
            async for batch in subscription:
                apply(batch)
        finally:
            subscription.close()


def with_note(table: QWidget, note: QLabel) -> QWidget:
    """A page: a line of explanation (empty, or why the table is empty) above a table."""
    page = QWidget()
    box = QVBoxLayout(page)
    box.addWidget(note)
    box.addWidget(table, 1)
    return page


class _PodsOf:
    """A cluster's state narrowed to some of its pods (what ``PodTableModel.show`` reads)."""

    def __init__(self, state: ClusterState, wanted: Callable[[PodRecord], bool]) -> None:
        self.cluster, self._state, self._wanted = state.cluster, state, wanted

    def records(self, kind: str) -> list[Record]:
        found = self._state.records(kind) if kind == "Pod" else ()
        return [r for r in found if isinstance(r, PodRecord) and self._wanted(r)]


class SomePodsModel(PodTableModel):
    """The pods of one node or one workload (``wants``), kept current from the cluster's
    changes: a pod that stops being wanted (deleted, moved) leaves the table."""

    def __init__(self, language: Language, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self._state: ClusterState | None = None
        #: the keys of the pods shown
        self.here: set[tuple[str, str]] = set()

    def wants(self, state: ClusterState, pod: PodRecord) -> bool:
        raise NotImplementedError

    def show(self, state: ClusterState | None) -> None:
        self._state = state
        pods = None if state is None else _PodsOf(state, lambda pod: self.wants(state, pod))
        self.here = {r.key for r in pods.records("Pod")} if pods is not None else set()
        super().show(pods)  # type: ignore[arg-type]

    def apply(self, changes: list[Change], cluster: str | None = None) -> None:
        state = self._state
        if state is None:
            return
        mine = []
        for change in changes:
            if change.kind != "Pod":
                continue
            if isinstance(change.new, PodRecord) and self.wants(state, change.new):
                mine.append(change)
                self.here.add(change.key)
            elif change.key in self.here:  # deleted, or no longer one of them
                mine.append(Change("Pod", change.key, change.old, None))
                self.here.discard(change.key)
        if mine:
            super().apply(mine, cluster)
