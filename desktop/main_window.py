"""The main window: clusters on the left, the selected cluster's views on the right.

Every text comes from the catalogs through ``Language``; ``retranslate()`` re-renders them
all when the language changes, so switching needs no restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import trio
from PySide6.QtCore import QPoint, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import desktop.builtin_views
import desktop.resources_view
import desktop.slo_view  # noqa: F401  (objectives, budgets, burn rates)
from desktop.alert_setup import DesktopAlerts
from desktop.anomaly_table import AnomalyTableModel
from desktop.command_palette import CommandPalette, Entry
from desktop.engine_bridge import EngineBridge
from desktop.extensions import REGISTRY, ViewContext, ViewSpec
from desktop.language import Language
from desktop.logs_view import LogsDialog
from desktop.node_table import NodeTableModel
from desktop.operation_dialog import OperationDialog
from desktop.pod_table import PodTableModel
from desktop.preferences import Preferences
from desktop.record_table import RecordTableModel
from desktop.settings_dialog import SettingsDialog
from desktop.table_view import sorting_proxy, table_view
from desktop.theme import Theme
from desktop.tray import Tray
from desktop.workload_table import WorkloadTableModel
from desktop.yaml_dialog import YamlDialog
from headless_agent import i18n
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.health import ConnectionState
from headless_agent.kube.kubeconfig import KubeconfigSet
from headless_agent.ops.commands import Command
from headless_agent.ops.runner import Operations, Safety
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import PodRecord

_STATE_COLOURS = {
    ConnectionState.SYNCED: "#2e9e5b",
    ConnectionState.CONNECTING: "#7a8794",
    ConnectionState.DEGRADED: "#d98b1c",
    ConnectionState.OFFLINE: "#d64545",
}
_IDLE_COLOUR = "#7a8794"


def _file_heading(path: str) -> QListWidgetItem:
    """A kubeconfig file's name above its contexts (when they come from several files)."""
    home = str(Path.home())
    shown = "~" + path[len(home) :] if path.startswith(home + "/") else path
    item = QListWidgetItem(shown)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not selectable: a heading
    item.setToolTip(path)
    font = item.font()
    font.setBold(True)
    item.setFont(font)
    item.setForeground(QColor(_IDLE_COLOUR))
    return item


def _size_columns(view: QTableView, widths: tuple[int, ...]) -> None:
    """Starting widths that fit typical content; the last column takes the rest."""
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)


def _filtered_page(
    model: RecordTableModel,
) -> tuple[QWidget, QSortFilterProxyModel, QLineEdit, QTableView]:
    """A table with a filter field above it, sorting by the cells' own values."""
    field = QLineEdit()
    proxy = sorting_proxy(model, model, field)  # owned by its source model, deleted with it
    view = table_view(proxy)
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addWidget(field)
    layout.addWidget(view)
    return page, proxy, field, view


class MainWindow(QMainWindow):
    """Top-level window. Closing it asks the engine to stop; the app quits when it has."""

    close_requested = Signal()

    def __init__(
        self,
        language: Language | None = None,
        *,
        preferences: Preferences | None = None,
        theme: Theme | None = None,
    ) -> None:
        super().__init__()
        self.language = language or Language()
        #: what is remembered between runs (nothing, unless the app gives a file)
        self.preferences = preferences or Preferences(None)
        self.theme = theme
        self.resize(1280, 800)
        self._closing = False
        self._hub: Hub | None = None
        self._bridge: EngineBridge | None = None
        self._nursery: trio.Nursery | None = None
        self._follow_scope: trio.CancelScope | None = None
        self._kubeconfigs: KubeconfigSet | None = None
        self._extra_path: list[str] = []
        self._selected: str | None = None
        self._all_mode = False

        self.banner = QLabel()
        self.banner.setObjectName("demoBanner")
        self.banner.setStyleSheet(
            "background: #3b5bdb; color: white; padding: 6px 12px; font-weight: 600;"
        )
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.language_label = QLabel()
        self.language_box = QComboBox()
        for code in i18n.LANGUAGES:
            self.language_box.addItem(i18n.message(code, f"language.{code}"), code)
        self.language_box.setCurrentIndex(i18n.LANGUAGES.index(self.language.code))
        self.language_box.currentIndexChanged.connect(self._language_chosen)
        self.palette_button = QPushButton()
        self.palette_button.clicked.connect(self.open_palette)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.open_settings)
        top = QHBoxLayout()
        top.addWidget(self.banner, 1)
        top.addWidget(self.palette_button)
        top.addWidget(self.language_label)
        top.addWidget(self.language_box)
        top.addWidget(self.settings_button)

        self.clusters = QListWidget()
        self.clusters.setObjectName("clusterList")
        self.clusters.setMinimumWidth(240)
        self.clusters.setSpacing(3)
        self.clusters.currentItemChanged.connect(self._cluster_selected)
        # A click on the cluster already current leaves the all-clusters view for it.
        self.clusters.itemClicked.connect(
            lambda item: self.all_button.isChecked() and self._cluster_selected(item, None)
        )
        self.all_button = QPushButton()
        self.all_button.setCheckable(True)
        self.all_button.toggled.connect(self._all_toggled)
        sidebar = QWidget()
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(0, 0, 0, 0)
        sidebar_layout.addWidget(self.all_button)
        sidebar_layout.addWidget(self.clusters, 1)

        self.anomaly_model: AnomalyTableModel | None = None
        self.anomaly_view = QTableView()
        self.pod_model = PodTableModel(self.language, self)
        pods_page, self.pod_proxy, self.pod_filter, self.pod_view = _filtered_page(self.pod_model)
        _size_columns(self.pod_view, (120, 320, 170, 60, 80, 200))
        self.node_model = NodeTableModel(self.language, self)
        nodes_page, self.node_proxy, self.node_filter, self.node_view = _filtered_page(
            self.node_model
        )
        _size_columns(self.node_view, (220, 160, 120, 60, 100, 60, 90))
        self.workload_model = WorkloadTableModel(self.language, self)
        workloads_page, self.workload_proxy, self.workload_filter, self.workload_view = (
            _filtered_page(self.workload_model)
        )
        _size_columns(self.workload_view, (120, 220, 110, 70, 80, 380))
        self.record_models = (self.pod_model, self.node_model, self.workload_model)
        #: the registered views (desktop.extensions), by key, and their specs in tab order
        self.views: dict[str, QWidget] = {}
        self.view_specs: list[tuple[ViewSpec, QWidget]] = []
        for spec in REGISTRY.views:
            widget = spec.create(self.language, self)
            self.views[spec.key] = widget
            self.view_specs.append((spec, widget))
        self.context: ViewContext | None = None
        # The built-in ones, by name, for the code and tests that reach them.
        self.history_view = self.views["history"]
        self.audit_view = self.views["audit"]
        self.console_view = self.views["console"]
        self.metrics_view = self.views["metrics"]
        self.alerts_view = self.views["alerts"]
        self.tray = Tray(self.language, self)
        self.tray.activated.connect(self._bring_to_front)
        self.anomaly_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.anomaly_view.customContextMenuRequested.connect(self._anomaly_menu)
        self.ops: Operations | None = None
        self.dialog: OperationDialog | None = None
        self.side_dialog: LogsDialog | YamlDialog | None = None
        for view, model, proxy in (
            (self.pod_view, self.pod_model, self.pod_proxy),
            (self.node_view, self.node_model, self.node_proxy),
            (self.workload_view, self.workload_model, self.workload_proxy),
        ):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(
                lambda point, v=view, m=model, p=proxy: self._context_menu(v, m, p, point)
            )

        self.tabs = QTabWidget()
        self.tabs.addTab(self.anomaly_view, "")
        self.tabs.addTab(pods_page, "")
        self.tabs.addTab(nodes_page, "")
        self.tabs.addTab(workloads_page, "")
        for _, widget in self.view_specs:
            self.tabs.addTab(widget, "")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.cluster_status = QLabel()
        self.cluster_status.setWordWrap(True)
        self.cluster_status.setProperty("dynamic", True)  # cluster names and API messages
        self.namespace_label = QLabel()
        self.namespace_box = QComboBox()
        self.namespace_box.setMinimumWidth(180)
        self.namespace_box.setProperty("dynamic", True)  # namespace names are data
        self.namespace_box.currentIndexChanged.connect(self._namespace_chosen)
        status_row = QHBoxLayout()
        status_row.addWidget(self.cluster_status, 1)
        status_row.addWidget(self.namespace_label)
        status_row.addWidget(self.namespace_box)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(status_row)
        right_layout.addWidget(self.tabs, 1)
        splitter = QSplitter()
        splitter.addWidget(sidebar)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.language.changed.connect(self.retranslate)
        self.retranslate()
        self._shortcuts()
        if theme is not None:
            theme.changed.connect(self._theme_changed)
            self._theme_changed(theme.dark)
        self._tables = {
            "anomalies": self.anomaly_view,
            "pods": self.pod_view,
            "nodes": self.node_view,
            "workloads": self.workload_view,
        }
        self._set_all_mode(False)
        self.tabs.setCurrentIndex(self.preferences.restore_window(self, splitter))
        for key, view in self._tables.items():
            if key != "anomalies":  # its model comes with the engine: restored in attach
                self.preferences.restore_table(key, view.horizontalHeader())

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        demo = self._hub is not None and any(h.is_demo for h in self._hub.clusters.values())
        self.setWindowTitle(tr("app.title_demo") if demo else tr("app.title"))
        self.banner.setText(tr("banner.demo"))
        self.language_label.setText(tr("language.label"))
        self.all_button.setText(tr("sidebar.all_clusters"))
        self.all_button.setToolTip(tr("sidebar.all_clusters_hint"))
        self.palette_button.setText(tr("palette.button"))
        self.palette_button.setToolTip(tr("palette.hint"))
        self.settings_button.setText(tr("settings.button"))
        self.namespace_label.setText(tr("namespace.label"))
        if self.namespace_box.count():
            self.namespace_box.setItemText(0, tr("namespace.all"))
        self.language_box.blockSignals(True)  # mirror the language, do not set it again
        self.language_box.setCurrentIndex(i18n.LANGUAGES.index(self.language.code))
        self.language_box.blockSignals(False)
        self.pod_filter.setPlaceholderText(tr("pods.filter"))
        self.node_filter.setPlaceholderText(tr("nodes.filter"))
        self.workload_filter.setPlaceholderText(tr("workloads.filter"))
        self.tabs.setTabText(1, tr("tab.pods"))
        self.tabs.setTabText(2, tr("tab.nodes"))
        self.tabs.setTabText(3, tr("tab.workloads"))
        for spec, widget in self.view_specs:
            self.tabs.setTabText(self.tabs.indexOf(widget), tr(spec.title))
        self._refresh_anomalies()
        for row in range(self.clusters.count()):
            self._render_item(self.clusters.item(row))
        if self._selected is not None:
            self._show_status(self._selected)

    # --- wiring to the engine --------------------------------------------------------------

    def attach(
        self,
        hub: Hub,
        nursery: trio.Nursery,
        history_problem: str | None = None,
        *,
        read_only: bool = False,
        alerts: DesktopAlerts | None = None,
    ) -> None:
        """Show a running Hub; follow tasks run in ``nursery``. ``history_problem`` says
        why there is no history, when the file could not be opened; ``alerts`` is the
        alerting attached to the hub (none without a history)."""
        self._hub, self._nursery = hub, nursery
        self._bridge = EngineBridge(hub)
        self._bridge.cluster_health_changed.connect(self._refresh_cluster)
        # The sidebar in the hub's order, before anything could process events (a view's
        # attach may): a cluster's first health report must not put it first.
        for name in hub.clusters:
            self._refresh_cluster(name)
        self._bridge.anomalies_changed.connect(self._refresh_anomalies)
        self._bridge.anomalies_changed.connect(self._anomalies_changed)
        # Read-only: every change is refused (the dialogs say so); reading still works.
        self.ops = Operations(hub, safety=Safety(read_only=read_only))
        self.context = ViewContext(self, hub, nursery, self.ops, alerts, history_problem)
        for spec, widget in self.view_specs:
            spec.attach(widget, self.context)
        self.anomaly_model = AnomalyTableModel(hub, self.language, self)
        self.anomaly_view.setModel(self.anomaly_model)
        self.anomaly_view.verticalHeader().setVisible(False)
        self.anomaly_view.horizontalHeader().setStretchLastSection(True)
        self.anomaly_view.setAlternatingRowColors(True)
        self.anomaly_view.setWordWrap(False)
        _size_columns(self.anomaly_view, (80, 140, 240, 170, 60, 80))
        self.preferences.restore_table("anomalies", self.anomaly_view.horizontalHeader())
        self.banner.setVisible(any(h.is_demo for h in hub.clusters.values()))
        self.retranslate()
        if self.clusters.count():
            self.clusters.setCurrentRow(0)

    def offer_contexts(self, kubeconfigs: KubeconfigSet, extra_path: list[str]) -> None:
        """List every kubeconfig context; one not yet watched connects when selected."""
        self._kubeconfigs, self._extra_path = kubeconfigs, extra_path
        contexts = sorted(kubeconfigs.contexts.items(), key=lambda c: (str(c[1].file), c[0]))
        grouped = len({str(info.file) for _, info in contexts}) > 1
        heading = None
        for name, info in contexts:
            if self._hub is None or name not in self._hub.clusters:
                if grouped and str(info.file) != heading:
                    heading = str(info.file)
                    self.clusters.addItem(_file_heading(heading))
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, name)
                self.clusters.addItem(item)
                self._render_item(item)

    def _item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.clusters.count()):
            item = self.clusters.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def _refresh_cluster(self, name: str) -> None:
        if self._hub is None or name not in self._hub.clusters:
            return
        item = self._item(name)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.clusters.addItem(item)
        self._render_item(item)
        if name == self._selected:
            self._show_status(name)

    def _render_item(self, item: QListWidgetItem) -> None:
        tr = self.language.tr
        name = item.data(Qt.ItemDataRole.UserRole)
        if name is None:
            return  # a kubeconfig file's heading
        handle = self._hub.clusters.get(name) if self._hub is not None else None
        if handle is None:
            item.setText(f"{name}\n{tr('sidebar.not_connected')}")
            item.setForeground(QColor(_IDLE_COLOUR))
            info = self._kubeconfigs.contexts.get(name) if self._kubeconfigs else None
            if info is not None:
                details = [
                    tr("tooltip.file", path=info.file),
                    tr("tooltip.server", server=info.server),
                    tr("tooltip.user", user=info.user),
                ]
                if info.namespace:
                    details.append(tr("tooltip.namespace", namespace=info.namespace))
                item.setToolTip("\n".join(details))
            return
        snapshot = handle.health.snapshot
        label = f"{name}  {tr('sidebar.demo')}" if handle.is_demo else name
        item.setText(f"{label}\n{tr(f'state.{snapshot.state.value}')}")
        item.setForeground(QColor(_STATE_COLOURS[snapshot.state]))
        description = tr("cluster.demo_description") if handle.is_demo else handle.description
        tooltip = [description, *snapshot.hidden_texts(self.language.code)]
        if snapshot.last_error:
            tooltip.append(tr("status.last_error", error=snapshot.error_text(self.language.code)))
        item.setToolTip("\n".join(t for t in tooltip if t))

    def _show_status(self, name: str) -> None:
        if self._hub is None or name not in self._hub.clusters:
            return
        handle = self._hub.clusters[name]
        snapshot = handle.health.snapshot
        tr = self.language.tr
        state = tr(f"state.{snapshot.state.value}")
        description = tr("cluster.demo_description") if handle.is_demo else handle.description
        hidden = snapshot.hidden_texts(self.language.code)
        parts = [f"<b>{name}</b> — {state}", description, *hidden]
        if snapshot.last_error:
            error = tr("status.last_error", error=snapshot.error_text(self.language.code))
            parts.append(f"<span style='color:#d64545'>{error}</span>")
        self.cluster_status.setText("<br>".join(p for p in parts if p))

    def _refresh_anomalies(self) -> None:
        count = 0
        if self.anomaly_model is not None:
            self.anomaly_model.refresh()
            count = self.anomaly_model.rowCount()
            self.tray.set_critical(
                sum(a.severity is Severity.CRITICAL for a in self.anomaly_model.anomalies())
            )
        tr = self.language.tr
        self.tabs.setTabText(
            0, tr("tab.anomalies_count", count=count) if count else tr("tab.anomalies")
        )

    def _anomalies_changed(self) -> None:
        if self.context is not None:
            for spec, widget in self.view_specs:
                spec.anomalies_changed(widget, self.context)

    def _tab_changed(self, _index: int) -> None:
        if self.context is None:
            return
        for spec, widget in self.view_specs:
            if widget is self.tabs.currentWidget():
                spec.shown(widget, self.context)

    # --- alerts ----------------------------------------------------------------------------

    def notify(self, payload: Mapping[str, Any]) -> None:
        """The ``desktop`` alert channel: a notification from the tray (unless the user
        turned them off in Settings)."""
        if self.preferences.notifications:
            self.tray.notify(payload)
        if self.tabs.currentWidget() is self.alerts_view:
            self.alerts_view.reload()

    def _bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _anomaly_menu(self, point: QPoint) -> None:
        index = self.anomaly_view.indexAt(point)
        if not index.isValid() or self.anomaly_model is None:
            return
        anomaly = self.anomaly_model.anomalies()[index.row()]
        self._run_menu(self.anomaly_view, point, "Anomaly", anomaly)

    def _run_menu(self, view: QTableView, point: QPoint, kind: str, subject: Any) -> None:
        self.context_menu(view, kind, subject).exec(view.viewport().mapToGlobal(point))

    def context_menu(self, parent: QWidget, kind: str, subject: Any) -> QMenu:
        """The registered actions for ``kind``, each running on ``subject`` when chosen."""
        menu = QMenu(parent)
        for action in REGISTRY.actions_for(kind):
            entry = menu.addAction(self.language.tr(action.title))
            entry.setData(action.key)
            entry.triggered.connect(
                lambda _=False, a=action: self.context and a.run(self.context, kind, subject)
            )
        return menu

    def silence_anomaly(self, anomaly: Anomaly) -> None:
        """Open a silence for one open anomaly, its matchers filled in."""
        key = anomaly.key
        self.tabs.setCurrentWidget(self.alerts_view)
        self.alerts_view.pages.setCurrentIndex(2)
        self.alerts_view.open_silence_dialog(
            cluster=key.cluster, namespace=key.namespace, name=key.name, reason=key.reason
        )

    # --- keyboard, palette, settings, namespaces --------------------------------------------

    def _theme_changed(self, dark: bool) -> None:
        """Views that draw themselves (charts) follow the palette."""
        for view in self.views.values():
            follow = getattr(view, "set_dark", None)
            if follow is not None:
                follow(dark)

    def _language_chosen(self, index: int) -> None:
        code = self.language_box.itemData(index)
        self.preferences.language = code  # chosen here: kept for the next run
        self.language.set(code)

    def _shortcuts(self) -> None:
        def bind(keys: str, slot: Any) -> None:
            QShortcut(QKeySequence(keys), self, activated=slot)

        bind("Ctrl+K", self.open_palette)
        bind("Ctrl+,", self.open_settings)
        bind("Ctrl+F", self.focus_filter)
        bind("F5", lambda: self._tab_changed(self.tabs.currentIndex()))
        for number in range(1, 10):  # Ctrl+1 … Ctrl+9: the tabs in order
            bind(f"Ctrl+{number}", lambda n=number: self.tabs.setCurrentIndex(n - 1))

    def focus_filter(self) -> None:
        """The current view's filter field, if it has one."""
        fields = self.tabs.currentWidget().findChildren(QLineEdit)
        if fields:
            fields[0].setFocus()
            fields[0].selectAll()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.language, self.preferences, self.theme, self.context, self)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def open_palette(self) -> CommandPalette:
        palette = CommandPalette(self.palette_entries(), self.language.tr("palette.hint"), self)
        self.palette = palette
        palette.open()
        return palette

    def palette_entries(self) -> list[Entry]:
        """Everything the palette can jump to or run, in the UI's language."""
        tr = self.language.tr
        entries = [
            Entry(tr("palette.go_to"), self.tabs.tabText(i), partial(self.tabs.setCurrentIndex, i))
            for i in range(self.tabs.count())
        ]
        for row in range(self.clusters.count()):
            name = self.clusters.item(row).data(Qt.ItemDataRole.UserRole)
            if name is None:
                continue  # a heading
            entries.append(
                Entry(tr("palette.cluster"), name, lambda r=row: self.clusters.setCurrentRow(r))
            )
        entries.append(Entry(tr("palette.command"), tr("settings.title"), self.open_settings))
        if self.alerts_view.alerts is not None:
            entries.append(Entry(tr("palette.command"), tr("alerts.edit_title"), self._edit_alerts))
            entries.append(Entry(tr("palette.command"), tr("silence.title"), self._new_silence))
        if self.theme is not None:
            for choice in ("light", "dark", "system"):
                entries.append(
                    Entry(
                        tr("settings.theme"),
                        tr(f"settings.theme.{choice}"),
                        lambda c=choice: self._choose_theme(c),
                    )
                )
        for code in i18n.LANGUAGES:
            entries.append(
                Entry(
                    tr("settings.language"),
                    i18n.message(code, f"language.{code}"),
                    lambda c=code: self.language.set(c),
                )
            )
        for index in range(1, self.namespace_box.count()):
            namespace = self.namespace_box.itemData(index)
            entries.append(
                Entry(
                    tr("namespace.label"),
                    namespace,
                    lambda i=index: self.namespace_box.setCurrentIndex(i),
                )
            )
        for model, view, field in (
            (self.pod_model, self.pod_view, self.pod_filter),
            (self.node_model, self.node_view, self.node_filter),
            (self.workload_model, self.workload_view, self.workload_filter),
        ):
            for row in range(model.rowCount()):
                record = model.record(row)
                where = f"{record.namespace}/{record.name}" if record.namespace else record.name
                entries.append(
                    Entry(
                        model.kind_of(row),
                        where,
                        lambda v=view, f=field, n=record.name: self._show_object(v, f, n),
                    )
                )
        return entries

    def _show_object(self, view: QTableView, field: QLineEdit, name: str) -> None:
        page = view.parentWidget()
        self.tabs.setCurrentWidget(page)
        field.setText(name)
        if view.model().rowCount():
            view.selectRow(0)
            view.setFocus()

    def _edit_alerts(self) -> None:
        self.tabs.setCurrentWidget(self.alerts_view)
        self.alerts_view.edit_settings()

    def _new_silence(self) -> None:
        self.tabs.setCurrentWidget(self.alerts_view)
        self.alerts_view.pages.setCurrentIndex(2)
        self.alerts_view.open_silence_dialog()

    def _choose_theme(self, choice: str) -> None:
        if self.theme is not None:
            self.theme.set(choice)
            self.preferences.theme = choice

    def _fill_namespaces(self, *handles: ClusterHandle) -> None:
        """The shown clusters' namespaces (from their state) in the filter."""
        current = self.namespace_box.currentData() or ""
        found = {r.name for h in handles for r in h.state.records("Namespace")}
        found |= {r.namespace for h in handles for r in h.state.records("Pod")}
        names = sorted(found)
        self.namespace_box.blockSignals(True)
        self.namespace_box.clear()
        self.namespace_box.addItem(self.language.tr("namespace.all"), "")
        for name in names:
            self.namespace_box.addItem(name, name)
        self.namespace_box.setCurrentIndex(max(0, self.namespace_box.findData(current)))
        self.namespace_box.blockSignals(False)
        self._namespace_chosen()

    def _namespace_chosen(self, _index: int = 0) -> None:
        namespace = self.namespace_box.currentData() or ""
        for proxy in (self.pod_proxy, self.workload_proxy):
            proxy.set_namespace(namespace)
        for view in self.views.values():  # registered views that filter by namespace too
            follow = getattr(view, "set_namespace", None)
            if follow is not None:
                follow(namespace)
        if self.context is not None:
            self.context.namespace = namespace

    # --- operations ------------------------------------------------------------------------

    def _context_menu(
        self,
        view: QTableView,
        model: RecordTableModel,
        proxy: QSortFilterProxyModel,
        point: QPoint,
    ) -> None:
        index = view.indexAt(point)
        if not index.isValid():
            return
        row = proxy.mapToSource(index).row()
        if self.context is not None:
            self.context.row_cluster = model.cluster_of(row)
        self._run_menu(view, point, model.kind_of(row), model.record(row))

    def open_operation(
        self, command: Command, cluster: str | None = None
    ) -> OperationDialog | None:
        """Open the dialog for ``command`` on ``cluster`` — by default the one the context
        menu was opened on, or the selected one (its preview first)."""
        if self._hub is None or self._nursery is None or self.ops is None:
            return None
        if cluster is None and self.context is not None:
            cluster = self.context.row_cluster
        handle = self._hub.clusters.get(cluster or self._selected or "")
        if handle is None:
            return None
        params = dict(command.params)
        record = handle.state.get(command.kind, command.namespace, command.name)
        if command.action == "scale" and "replicas" not in params:
            params["replicas"] = getattr(record, "desired", 1)
        if command.action == "set-image" and "container" not in params:
            images = getattr(record, "images", ())
            params.update(container="main", image=images[0] if images else "")
        if command.action == "logs" and isinstance(record, PodRecord):
            logs = LogsDialog(self.language, self.ops, handle, record, self._nursery, self)
            logs.open()
            self.side_dialog = logs
            return None
        if command.action == "yaml":
            editor = YamlDialog(self.language, self.ops, handle, command, self._nursery, self)
            editor.open()
            self.side_dialog = editor
            return None
        if not command.mutating:
            # Describe needs no dialog: the console shows the object and its events.
            self.tabs.setCurrentWidget(self.console_view)
            self.console_view.run_command(command)
            return None
        dialog = OperationDialog(
            self.language,
            self.ops,
            handle,
            Command(command.action, command.kind, command.namespace, command.name, params),
            self._nursery,
            self,
        )
        dialog.finished_with.connect(lambda _: self.audit_view.reload())
        self.dialog = dialog
        dialog.open()
        return dialog

    def _cluster_selected(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None or self._hub is None or self._nursery is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if name is None:
            return  # a kubeconfig file's heading
        if self.all_button.isChecked():  # back to this one cluster
            self.all_button.blockSignals(True)
            self.all_button.setChecked(False)
            self.all_button.blockSignals(False)
            self._set_all_mode(False)
        handle = self._hub.clusters.get(name)
        if handle is None and self._kubeconfigs is not None and name in self._kubeconfigs.contexts:
            target = KubeTarget(self._kubeconfigs, name, extra_path=self._extra_path)
            handle = self._hub.watch_context(target)  # switching is cheap: start on demand
            self._refresh_cluster(name)
        if handle is None:
            return
        self._selected = name
        self._show_status(name)
        if self.context is not None:
            self.context.cluster = name
            for spec, widget in self.view_specs:
                spec.cluster_changed(widget, self.context)
        if self._follow_scope is not None:
            self._follow_scope.cancel()
        scope = self._follow_scope = trio.CancelScope()
        state = handle.state

        async def follow() -> None:
            with scope:
                subscription = state.subscribe()
                try:
                    for model in self.record_models:
                        model.show(state)
                    self._fill_namespaces(handle)
                    async for batch in subscription:
                        for model in self.record_models:
                            model.apply(batch)
                        if any(change.kind == "Namespace" for change in batch):
                            self._fill_namespaces(handle)  # one came or went
                finally:
                    subscription.close()

        self._nursery.start_soon(follow)

    # --- all clusters at once ----------------------------------------------------------------

    @property
    def all_clusters(self) -> bool:
        """The tables show every watched cluster, with a cluster column."""
        return self._all_mode

    def _set_all_mode(self, on: bool) -> None:
        self._all_mode = on
        for model, view in (
            (self.pod_model, self.pod_view),
            (self.node_model, self.node_view),
            (self.workload_model, self.workload_view),
        ):
            view.setColumnHidden(model.cluster_column, not on)

    def _all_toggled(self, on: bool) -> None:
        if on:
            self._show_all_clusters()
        else:
            self._set_all_mode(False)
            self._cluster_selected(self.clusters.currentItem(), None)

    def _show_all_clusters(self) -> None:
        if self._hub is None or self._nursery is None:
            return
        self._set_all_mode(True)
        self._selected = None
        handles = [h for h in self._hub.clusters.values()]
        synced = sum(h.health.snapshot.state is ConnectionState.SYNCED for h in handles)
        tr = self.language.tr
        self.cluster_status.setText(
            f"<b>{tr('sidebar.all_clusters')}</b> — "
            + tr("status.all_clusters", synced=synced, total=len(handles))
        )
        if self.context is not None:
            self.context.cluster = None
            for spec, widget in self.view_specs:
                spec.cluster_changed(widget, self.context)
        if self._follow_scope is not None:
            self._follow_scope.cancel()
        scope = self._follow_scope = trio.CancelScope()
        states = [h.state for h in handles]

        async def follow_one(state: ClusterState) -> None:
            subscription = state.subscribe()
            try:
                async for batch in subscription:
                    for model in self.record_models:
                        model.apply(batch, cluster=state.cluster)
            finally:
                subscription.close()

        async def follow() -> None:
            with scope:
                for model in self.record_models:
                    model.show_all(states)
                self._fill_namespaces(*handles)
                async with trio.open_nursery() as each:
                    for state in states:
                        each.start_soon(follow_one, state)

        self._nursery.start_soon(follow)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.preferences.save_window(self, self.splitter, self.tabs.currentIndex())
            for key, view in self._tables.items():
                self.preferences.save_table(key, view.horizontalHeader())
            self.preferences.sync()
            if self._bridge is not None:
                self._bridge.close()
            self.tray.hide()
            self.close_requested.emit()
        event.accept()
