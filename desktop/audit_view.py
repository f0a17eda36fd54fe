"""The Audit tab: every operation anyone ran from this machine, verifiable and exportable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.history_models import _QueryTableModel
from desktop.language import Language
from desktop.table_view import sorting_proxy, table_view
from headless_agent import i18n
from headless_agent.store import AuditEntry, HistoryStore

_OUTCOME_COLOURS = {"succeeded": QColor("#2e9e5b"), "failed": QColor("#d64545")}
_REFUSED = QColor("#d98b1c")
_EXPORT_TITLES = {"csv": "audit.export_csv", "json": "audit.export_json"}


class AuditTableModel(_QueryTableModel[AuditEntry]):
    columns = ("at", "actor", "cluster", "action", "target", "outcome", "lasted", "message")

    def cells(self, row: AuditEntry) -> Sequence[tuple[str, Any]]:
        where = (
            f"{row.target_kind} {row.target_namespace}/{row.target_name}"
            if row.target_namespace
            else f"{row.target_kind} {row.target_name}"
        )
        code = self._language.code
        lasted = row.duration or 0.0
        return (
            (i18n.format_time(row.at, code), row.at),
            (row.actor, row.actor),
            (row.cluster or "", row.cluster or ""),
            (self._language.tr(f"action.{row.action}"), row.action),
            (where, where),
            (self._language.tr(f"audit.outcome.{row.outcome}"), row.outcome),
            (i18n.format_seconds(lasted, code), lasted),
            (row.error or row.detail, row.error or row.detail),
        )

    def colour(self, row: AuditEntry, column: int) -> QColor | None:
        if column != 5:
            return None
        return _OUTCOME_COLOURS.get(row.outcome, _REFUSED)

    def tooltip(self, row: AuditEntry) -> str:
        lines = [f"{k}: {v}" for k, v in sorted(row.parameters.items())]
        lines += [row.via, row.identity, row.request_key]
        return "\n".join(line for line in lines if line)


class AuditView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._store: HistoryStore | None = None
        self._nursery: trio.Nursery | None = None
        self.model = AuditTableModel(language, self)
        self.filter = QLineEdit()
        proxy = sorting_proxy(self.model, self, self.filter)
        self.view = table_view(proxy, (150, 80, 120, 110, 200, 80, 55))
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.verify_button = QPushButton()
        self.verify_button.clicked.connect(self.verify)
        self.export_csv = QPushButton()
        self.export_csv.clicked.connect(lambda: self._ask_export("csv"))
        self.export_json = QPushButton()
        self.export_json.clicked.connect(lambda: self._ask_export("json"))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setProperty("dynamic", True)
        controls = QHBoxLayout()
        controls.addWidget(self.filter, 1)
        controls.addWidget(self.verify_button)
        controls.addWidget(self.export_csv)
        controls.addWidget(self.export_json)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        self.filter.setPlaceholderText(tr("audit.filter"))
        self.verify_button.setText(tr("audit.verify"))
        self.export_csv.setText(tr("audit.export_csv"))
        self.export_json.setText(tr("audit.export_json"))

    def attach(self, store: HistoryStore | None, nursery: trio.Nursery) -> None:
        self._store, self._nursery = store, nursery
        for button in (self.verify_button, self.export_csv, self.export_json):
            button.setEnabled(store is not None)
        self.reload()

    def reload(self) -> None:
        store, nursery = self._store, self._nursery
        if store is None or nursery is None:
            return

        def query() -> list[AuditEntry]:
            store.flush(timeout=5)
            return store.audit_log(0, time.time() + 60)

        async def load() -> None:
            # A closed window abandons the query rather than filling a deleted model.
            self.model.set_rows(await trio.to_thread.run_sync(query, abandon_on_cancel=True))

        nursery.start_soon(load)

    def verify(self) -> None:
        store, nursery = self._store, self._nursery
        if store is None or nursery is None:
            return

        async def check() -> None:
            result = await trio.to_thread.run_sync(store.verify_audit, abandon_on_cancel=True)
            tr = self.language.tr
            if result.ok:
                self.status.setText(tr("audit.verified", count=result.entries))
                self.status.setStyleSheet("color: #2e9e5b;")
            else:
                self.status.setText(tr("audit.broken", reason=result.reason))
                self.status.setStyleSheet("color: #d64545;")

        nursery.start_soon(check)

    def _ask_export(self, fmt: str) -> None:
        title = self.language.tr(_EXPORT_TITLES[fmt])
        path, _ = QFileDialog.getSaveFileName(self, title, f"atlhyper-audit.{fmt}")
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        store, nursery = self._store, self._nursery
        if store is None or nursery is None:
            return

        async def write() -> None:
            text = await trio.to_thread.run_sync(store.export_audit, fmt)
            await trio.to_thread.run_sync(path.write_text, text)
            self.status.setText(self.language.tr("audit.exported", path=str(path)))
            self.status.setStyleSheet("")

        nursery.start_soon(write)
