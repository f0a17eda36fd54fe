"""The main window: clusters on the left, the selected cluster's views on the right."""

from __future__ import annotations

from collections.abc import Callable

import trio
from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.anomaly_table import AnomalyTableModel
from desktop.engine_bridge import EngineBridge
from desktop.pod_table import PodTableModel
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.health import ConnectionState
from headless_agent.kube.kubeconfig import KubeconfigSet

_STATE_COLOURS = {
    ConnectionState.SYNCED: "#2e9e5b",
    ConnectionState.CONNECTING: "#7a8794",
    ConnectionState.DEGRADED: "#d98b1c",
    ConnectionState.OFFLINE: "#d64545",
}

Spawn = Callable[[Callable[[], object]], None]


def _table(model: QSortFilterProxyModel | AnomalyTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class MainWindow(QMainWindow):
    """Top-level window. Closing it asks the engine to stop; the app quits when it has."""

    close_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("AtlHyper")
        self.resize(1280, 800)
        self._closing = False
        self._hub: Hub | None = None
        self._bridge: EngineBridge | None = None
        self._nursery: trio.Nursery | None = None
        self._follow_scope: trio.CancelScope | None = None
        self._kubeconfigs: KubeconfigSet | None = None
        self._extra_path: list[str] = []

        self.banner = QLabel()
        self.banner.setObjectName("demoBanner")
        self.banner.setStyleSheet(
            "background: #3b5bdb; color: white; padding: 6px 12px; font-weight: 600;"
        )
        self.banner.hide()

        self.clusters = QListWidget()
        self.clusters.setObjectName("clusterList")
        self.clusters.setMinimumWidth(240)
        self.clusters.setSpacing(3)
        self.clusters.currentItemChanged.connect(self._cluster_selected)

        self.anomaly_model: AnomalyTableModel | None = None
        self.anomaly_view = QTableView()
        self.pod_model = PodTableModel()
        self.pod_proxy = QSortFilterProxyModel()
        self.pod_proxy.setSourceModel(self.pod_model)
        self.pod_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.pod_proxy.setFilterKeyColumn(-1)
        self.pod_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.pod_filter = QLineEdit()
        self.pod_filter.setPlaceholderText("Filter pods by name, namespace, status or node")
        self.pod_filter.setClearButtonEnabled(True)
        self.pod_filter.textChanged.connect(self.pod_proxy.setFilterFixedString)
        self.pod_view = _table(self.pod_proxy)

        pods_page = QWidget()
        pods_layout = QVBoxLayout(pods_page)
        pods_layout.addWidget(self.pod_filter)
        pods_layout.addWidget(self.pod_view)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.anomaly_view, "Anomalies")
        self.tabs.addTab(pods_page, "Pods")
        self.cluster_status = QLabel()
        self.cluster_status.setWordWrap(True)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.cluster_status)
        right_layout.addWidget(self.tabs, 1)
        splitter = QSplitter()
        splitter.addWidget(self.clusters)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    # --- wiring to the engine --------------------------------------------------------------

    def attach(self, hub: Hub, nursery: trio.Nursery) -> None:
        """Show a running Hub; follow tasks run in ``nursery``."""
        self._hub, self._nursery = hub, nursery
        self._bridge = EngineBridge(hub)
        self._bridge.cluster_health_changed.connect(self._refresh_cluster)
        self._bridge.anomalies_changed.connect(self._refresh_anomalies)
        self.anomaly_model = AnomalyTableModel(hub)
        self.anomaly_view.setModel(self.anomaly_model)
        self.anomaly_view.verticalHeader().setVisible(False)
        self.anomaly_view.horizontalHeader().setStretchLastSection(True)
        self.anomaly_view.setAlternatingRowColors(True)
        demo = [h for h in hub.clusters.values() if h.is_demo]
        if demo:
            self.banner.setText(
                "DEMO — these clusters are simulated. Add a kubeconfig to watch real ones."
            )
            self.banner.show()
            self.setWindowTitle("AtlHyper — demo fleet (simulated)")
        for name in hub.clusters:
            self._refresh_cluster(name)
        if self.clusters.count():
            self.clusters.setCurrentRow(0)

    def offer_contexts(self, kubeconfigs: KubeconfigSet, extra_path: list[str]) -> None:
        """List every kubeconfig context; one not yet watched connects when selected."""
        self._kubeconfigs, self._extra_path = kubeconfigs, extra_path
        for name, info in sorted(
            kubeconfigs.contexts.items(), key=lambda c: (str(c[1].file), c[0])
        ):
            if self._hub is not None and name in self._hub.clusters:
                continue
            item = QListWidgetItem(f"{name}\nnot connected")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setForeground(QColor("#7a8794"))
            details = [f"file: {info.file}", f"server: {info.server}", f"user: {info.user}"]
            if info.namespace:
                details.append(f"namespace: {info.namespace}")
            item.setToolTip("\n".join(details))
            self.clusters.addItem(item)

    def _refresh_cluster(self, name: str) -> None:
        assert self._hub is not None
        handle = self._hub.clusters.get(name)
        if handle is None:
            return
        snapshot = handle.health.snapshot
        text = f"{name}{'  (demo)' if handle.is_demo else ''}\n{snapshot.state.value}"
        items = self.clusters.findItems(f"{name}", Qt.MatchFlag.MatchStartsWith)
        item = next((i for i in items if i.data(Qt.ItemDataRole.UserRole) == name), None)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.clusters.addItem(item)
        item.setText(text)
        item.setForeground(QColor(_STATE_COLOURS[snapshot.state]))
        tooltip = [handle.description, *snapshot.hidden]
        if snapshot.last_error:
            tooltip.append(f"Last error: {snapshot.last_error}")
        item.setToolTip("\n".join(t for t in tooltip if t))
        if self.clusters.currentItem() is item:
            self._show_status(name)

    def _show_status(self, name: str) -> None:
        assert self._hub is not None
        handle = self._hub.clusters[name]
        snapshot = handle.health.snapshot
        parts = [f"<b>{name}</b> — {snapshot.state.value}", handle.description]
        parts += list(snapshot.hidden)
        if snapshot.last_error:
            parts.append(f"<span style='color:#d64545'>{snapshot.last_error}</span>")
        self.cluster_status.setText("<br>".join(p for p in parts if p))

    def _refresh_anomalies(self) -> None:
        if self.anomaly_model is not None:
            self.anomaly_model.refresh()
            count = self.anomaly_model.rowCount()
            self.tabs.setTabText(0, f"Anomalies ({count})" if count else "Anomalies")

    def _cluster_selected(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None or self._hub is None or self._nursery is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        handle = self._hub.clusters.get(name)
        if handle is None and self._kubeconfigs is not None and name in self._kubeconfigs.contexts:
            target = KubeTarget(self._kubeconfigs, name, extra_path=self._extra_path)
            handle = self._hub.watch_context(target)  # switching is cheap: start on demand
            self._refresh_cluster(name)
        if handle is None:
            return
        self._show_status(name)
        if self._follow_scope is not None:
            self._follow_scope.cancel()
        scope = self._follow_scope = trio.CancelScope()

        async def follow() -> None:
            with scope:
                await self.pod_model.follow(handle.state)

        self._nursery.start_soon(follow)
        self._refresh_anomalies()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            if self._bridge is not None:
                self._bridge.close()
            self.close_requested.emit()
        event.accept()
