"""Table models over what the history file returned: anomaly episodes and Warning events.

Both are filled whole from a query (the history view re-runs it), so a reset is the simple
truth; cells sort by their own values (times as numbers) through ``UserRole``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.table_model import RowsTableModel
from headless_agent import i18n
from headless_agent.detect.anomaly import Severity
from headless_agent.store import AnomalyEpisode, StoredEvent

Row = TypeVar("Row")
Index = QModelIndex | QPersistentModelIndex

_SEVERITY_COLOURS = {Severity.CRITICAL: QColor("#d64545"), Severity.WARNING: QColor("#d98b1c")}
_ONGOING = QColor("#d64545")
_MUTED = QColor("#7a8794")


def _where(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


class _QueryTableModel(RowsTableModel[Row], Generic[Row]):
    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, number: int) -> Row:
        return self._rows[number]

    def cells(self, row: Row) -> Sequence[tuple[str, Any]]:
        """(shown text, sort value) per column."""
        raise NotImplementedError

    def colour(self, row: Row, column: int) -> QColor | None:
        return None

    def tooltip(self, row: Row) -> str | None:
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(row)[index.column()][0]
        if role == Qt.ItemDataRole.UserRole:
            return self.cells(row)[index.column()][1]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row)
        return None


class EpisodeTableModel(_QueryTableModel[AnomalyEpisode]):
    columns = ("severity", "opened", "ended", "lasted", "object", "reason", "message")

    def cells(self, row: AnomalyEpisode) -> Sequence[tuple[str, Any]]:
        language = self._language
        code = language.code
        end = row.resolved_at if row.resolved_at is not None else time.time()
        if row.is_open:
            ended = language.tr("history.ongoing")
        elif row.ended_unseen:
            ended = language.tr("history.ended_unseen", time=i18n.format_time(end, code))
        else:
            ended = i18n.format_time(end, code)
        return (
            (language.tr(f"severity.{row.severity.label}"), int(row.severity)),
            (i18n.format_time(row.first_seen, code), row.first_seen),
            (ended, end),
            (language.duration(end - row.first_seen), end - row.first_seen),
            (_where(row.kind, row.namespace, row.name), (row.kind, row.namespace, row.name)),
            (row.reason, row.reason),
            (row.text(code), row.text(code)),
        )

    def colour(self, row: AnomalyEpisode, column: int) -> QColor | None:
        if column == 0:
            return _SEVERITY_COLOURS.get(row.severity)
        if column == 2:
            return _ONGOING if row.is_open else _MUTED if row.ended_unseen else None
        return None

    def tooltip(self, row: AnomalyEpisode) -> str:
        """The episode's life, one line per transition."""
        language = self._language
        lines = [row.text(language.code)]
        for step in row.transitions:
            lines.append(
                f"{i18n.format_time(step.at, language.code)}  "
                f"{language.tr(f'history.transition.{step.type}')}"
            )
        if row.members:
            lines.append(language.tr("history.members", names=", ".join(row.members)))
        return "\n".join(lines)


class EventTableModel(_QueryTableModel[StoredEvent]):
    columns = ("last_seen", "object", "reason", "count", "message")

    def cells(self, row: StoredEvent) -> Sequence[tuple[str, Any]]:
        code = self._language.code
        seen = row.last_seen or row.first_seen or 0.0
        return (
            (i18n.format_time(seen, code) if seen else "—", seen),
            (
                _where(row.object_kind, row.object_namespace, row.object_name),
                (row.object_kind, row.object_namespace, row.object_name),
            ),
            (row.reason, row.reason),
            (i18n.format_number(row.count, code), row.count),
            (row.message, row.message),
        )

    def tooltip(self, row: StoredEvent) -> str:
        return row.message
