"""The Settings pages beyond General, registered like any extension's: Clusters (the
kubeconfig files and agents added in the app, the extra folders searched for credential
plugins) and History (the file, its size per kind of data, and how long each is kept)."""

from __future__ import annotations

from typing import Any

import trio
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.extensions import REGISTRY, SettingsPage, ViewContext
from desktop.language import Language
from headless_agent import i18n
from headless_agent.store import HistoryStore
from headless_agent.store.retention import RetentionRule, SizeReport

DAY = 86400.0
MIB = 2**20


# --- clusters ----------------------------------------------------------------------------------


class ClustersPage(QWidget):
    """Lists that say what was added; removing takes effect at the next start (a cluster
    being watched keeps going until then)."""

    def __init__(self, language: Language, context: ViewContext | None) -> None:
        super().__init__()
        tr = language.tr
        self.language = language
        self.preferences = context.window.preferences if context is not None else None
        self.files = QListWidget()
        self.agents = QListWidget()
        self.paths = QListWidget()
        self.note = QLabel(tr("settings.clusters_note"))
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        for title, widget, add in (
            ("settings.kubeconfig_files", self.files, self._add_file),
            ("settings.agents", self.agents, None),
            ("settings.extra_path", self.paths, self._add_path),
        ):
            row = QHBoxLayout()
            row.addWidget(QLabel(tr(title)), 1)
            if add is not None:
                button = QPushButton(tr("settings.add"))
                button.clicked.connect(add)
                row.addWidget(button)
            remove = QPushButton(tr("settings.remove"))
            remove.clicked.connect(lambda _=False, w=widget: self._remove(w))
            row.addWidget(remove)
            layout.addLayout(row)
            layout.addWidget(widget)
        layout.addWidget(self.note)
        if self.preferences is not None:
            for path in self.preferences.kubeconfig_files:
                self.files.addItem(path)
            for agent in self.preferences.agents:
                item = QListWidgetItem(f"{agent.get('name')}  {agent.get('url')}")
                item.setData(Qt.ItemDataRole.UserRole, agent.get("name"))
                self.agents.addItem(item)
            for folder in self.preferences.extra_path:
                self.paths.addItem(folder)
        for widget in (self.files, self.agents, self.paths):
            widget.setProperty("dynamic", True)  # paths and names are data

    def _add_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.language.tr("settings.kubeconfig_files"))
        if path:
            self.files.addItem(path)

    def _add_path(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.language.tr("settings.extra_path"))
        if folder:
            self.paths.addItem(folder)

    def _remove(self, widget: QListWidget) -> None:
        for item in widget.selectedItems():
            widget.takeItem(widget.row(item))

    def apply(self) -> None:
        if self.preferences is None:
            return
        preferences = self.preferences
        preferences.kubeconfig_files = [
            self.files.item(r).text() for r in range(self.files.count())
        ]
        kept = {
            self.agents.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.agents.count())
        }
        preferences.forget_agents(
            [a["name"] for a in preferences.agents if a.get("name") not in kept]
        )
        preferences.extra_path = [self.paths.item(r).text() for r in range(self.paths.count())]


# --- history -----------------------------------------------------------------------------------


class HistoryPage(QWidget):
    """The history file's size per kind of data and each kind's limits (days kept, MiB),
    read and changed through the store's API in a worker thread."""

    COLUMNS = ("settings.kind", "settings.size", "settings.keep_days", "settings.limit_mib")

    def __init__(self, language: Language, context: ViewContext | None) -> None:
        super().__init__()
        tr = language.tr
        self.language = language
        self.store: HistoryStore | None = context.hub.history if context is not None else None
        self.nursery = context.nursery if context is not None else None
        self.summary = QLabel(tr("settings.history_none") if self.store is None else "")
        self.summary.setWordWrap(True)
        self.summary.setProperty("dynamic", True)  # the file's path and size
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) for c in self.COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setProperty("dynamic", True)  # kinds of data are the store's names
        self.rules: dict[str, RetentionRule] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.loaded = trio.Event()
        if self.store is not None and self.nursery is not None:
            self.nursery.start_soon(self._load)

    async def _load(self) -> None:
        store = self.store
        assert store is not None
        rules, report = await trio.to_thread.run_sync(
            lambda: (store.retention(), store.size_report()), abandon_on_cancel=True
        )
        self._show(rules, report)
        self.loaded.set()

    def _show(self, rules: dict[str, RetentionRule], report: SizeReport) -> None:
        code = self.language.code
        total = report.file_bytes + report.wal_bytes
        self.summary.setText(
            self.language.tr(
                "settings.history_file",
                path=str(report.path),
                size=i18n.format_number(round(total / MIB, 1), code),
            )
        )
        self.rules = rules
        self.table.setRowCount(len(rules))
        for row, (kind, rule) in enumerate(sorted(rules.items())):
            used = report.kinds.get(kind)
            self.table.setItem(row, 0, QTableWidgetItem(kind))
            size = i18n.format_number(round((used.bytes if used else 0) / MIB, 2), code)
            self.table.setItem(row, 1, QTableWidgetItem(size))
            for column, value, scale in ((2, rule.max_age, DAY), (3, rule.max_bytes, MIB)):
                box = QDoubleSpinBox()
                box.setRange(0, 100000)
                box.setDecimals(1)
                box.setSpecialValueText(self.language.tr("settings.no_limit"))  # 0: no limit
                box.setValue(0 if value is None else value / scale)
                self.table.setCellWidget(row, column, box)

    def changed_rules(self) -> dict[str, RetentionRule]:
        """The limits edited in the table (0 means no limit)."""
        changed = {}
        for row, kind in enumerate(sorted(self.rules)):
            age_box = self.table.cellWidget(row, 2)
            bytes_box = self.table.cellWidget(row, 3)
            assert isinstance(age_box, QDoubleSpinBox) and isinstance(bytes_box, QDoubleSpinBox)
            days, mib = age_box.value(), bytes_box.value()
            rule = RetentionRule(days * DAY if days else None, int(mib * MIB) if mib else None)
            if rule != self.rules[kind]:
                changed[kind] = rule
        return changed

    def apply(self) -> None:
        store, nursery = self.store, self.nursery
        changed = self.changed_rules() if self.rules else {}
        if store is None or nursery is None or not changed:
            return
        for kind, rule in changed.items():
            store.set_retention(kind, rule)

        async def now() -> None:  # apply the new limits at once, off the UI thread
            await trio.to_thread.run_sync(store.run_retention)

        nursery.start_soon(now)


def _apply(page: Any, context: ViewContext | None) -> None:
    page.apply()


REGISTRY.add_settings_page(SettingsPage("clusters", "settings.clusters", ClustersPage, _apply))
REGISTRY.add_settings_page(SettingsPage("history", "settings.history", HistoryPage, _apply))
