"""A node's page: what it is (status, roles, version, age, capacity), its conditions and
taints, the pods on it — live from the cluster's state — and its charts from the history
(CPU in total and per core, load, memory, swap, disk space and IO, network per interface,
temperatures: whichever series the node has), live and over a chosen range.

Opened from the Nodes table's context menu and from the Metrics tab.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio
from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.charts import ChartBoard, ChartSpec, Line, busy_from_idle, to_gib, to_mib
from desktop.detail_parts import (
    DetailTable,
    Facts,
    SomePodsModel,
    cores,
    emphasise,
    follow_changes,
    gib,
    when,
)
from desktop.language import Language
from desktop.record_table import AMBER, GREEN, RED
from desktop.table_view import sorting_proxy, table_view
from headless_agent.hub import ClusterHandle
from headless_agent.state.ages import age
from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import NodeRecord, PodRecord
from headless_agent.store import HistoryStore

CHARTS = (
    ChartSpec(
        "cpu",
        "chart.cpu",
        (Line('cpu_usage_percent{mode="idle"}', busy_from_idle, "chart.line.busy"),),
        unit="chart.unit.percent",
    ),
    ChartSpec(
        "cores",
        "chart.cores",
        (Line('cpu_core_usage_percent{*mode="idle"}', busy_from_idle, "chart.line.core"),),
        unit="chart.unit.percent",
        bands=False,
    ),
    ChartSpec(
        "load",
        "chart.load",
        (
            Line("load1", name="chart.line.load1"),
            Line("load5", name="chart.line.load5"),
            Line("load15", name="chart.line.load15"),
        ),
        digits=2,
    ),
    ChartSpec(
        "memory",
        "chart.memory",
        (Line("memory_used_percent", name="chart.line.used"),),
        unit="chart.unit.percent",
    ),
    ChartSpec(
        "swap",
        "chart.swap",
        (Line("swap_used_bytes", to_gib, "chart.line.used"),),
        unit="chart.unit.gib",
        digits=2,
    ),
    ChartSpec(
        "disk_space",
        "chart.disk_space",
        (Line("filesystem_used_percent{*}", labels=("mountpoint",)),),
        unit="chart.unit.percent",
    ),
    ChartSpec(
        "disk_io",
        "chart.disk_io",
        (
            Line("disk_read_bytes_per_second{*}", to_mib, "chart.line.read"),
            Line("disk_write_bytes_per_second{*}", to_mib, "chart.line.written"),
        ),
        unit="chart.unit.mib_per_second",
        digits=2,
    ),
    ChartSpec(
        "network",
        "chart.network",
        (
            Line("network_receive_bytes_per_second{*}", to_mib, "chart.line.received"),
            Line("network_transmit_bytes_per_second{*}", to_mib, "chart.line.sent"),
        ),
        unit="chart.unit.mib_per_second",
        digits=2,
    ),
    ChartSpec(
        "temperature",
        "chart.temperature",
        (Line("temperature_celsius{*}", labels=("chip", "sensor")),),
        unit="chart.unit.celsius",
        bands=False,
    ),
)

FACTS = (
    "detail.status",
    "detail.roles",
    "detail.version",
    "detail.age",
    "detail.internal_ip",
    "detail.schedulable",
    "detail.cpu",
    "detail.memory",
    "detail.pods",
)


def node_status(node: NodeRecord) -> tuple[str, QColor]:
    """What the Nodes table says, and its colour."""
    status = {"True": "Ready", "False": "NotReady"}.get(node.ready_status, "Unknown")
    if node.ready_status != "True":
        return status, RED
    if node.unschedulable:
        return f"{status},SchedulingDisabled", AMBER
    return status, GREEN


class NodePodsModel(SomePodsModel):
    """The pods one node runs, kept current from the cluster's changes."""

    def __init__(self, language: Language, node: str, parent: QObject | None = None) -> None:
        super().__init__(language, parent)
        self.node = node

    def wants(self, state: ClusterState, pod: PodRecord) -> bool:
        return pod.node == self.node


class NodeDetailDialog(QDialog):
    def __init__(
        self,
        language: Language,
        handle: ClusterHandle,
        store: HistoryStore | None,
        nursery: trio.Nursery,
        node: str,
        *,
        open_pod: Callable[[PodRecord], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("nodeDetailDialog")
        self.language, self.handle, self.node = language, handle, node
        self.open_pod = open_pod
        self.resize(1240, 900)
        self._scope = trio.CancelScope()
        self.heading = QLabel()
        self.heading.setProperty("dynamic", True)  # the node's name and status
        emphasise(self.heading, 1.25)
        self.facts = Facts(language, FACTS)
        self.board = ChartBoard(CHARTS, language, hide_empty=True)
        self.charts = self.board.charts
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.board)
        for chart in self.charts.values():
            chart.setMinimumHeight(230)
            chart.setMaximumHeight(345)  # two rows of charts in view at once
        self.conditions = DetailTable(
            language,
            ("column.type", "column.status", "column.reason", "column.since", "column.message"),
        )
        self.conditions.set_widths((170, 80, 200, 170))
        self.taints = DetailTable(language, ("column.key", "column.value", "column.effect"))
        self.taints.set_widths((320, 200))
        self.no_taints = QLabel()
        conditions_page = QWidget()
        box = QVBoxLayout(conditions_page)
        box.addWidget(self.conditions, 3)
        self.taints_title = QLabel()
        emphasise(self.taints_title)
        box.addWidget(self.taints_title)
        box.addWidget(self.no_taints)
        box.addWidget(self.taints, 1)
        self.pod_model = NodePodsModel(language, node, self)
        self.pod_proxy = sorting_proxy(self.pod_model, self.pod_model)
        self.pod_view: QTableView = table_view(self.pod_proxy, (120, 320, 150, 60, 80, 200))
        self.pod_view.doubleClicked.connect(self._pod_chosen)
        cluster_column = getattr(self.pod_model, "cluster_column", None)
        if cluster_column is not None:  # one cluster here: no column naming it
            self.pod_view.setColumnHidden(cluster_column, True)
        self.tabs = QTabWidget()
        self.tabs.addTab(scroll, "")
        self.tabs.addTab(conditions_page, "")
        self.tabs.addTab(self.pod_view, "")
        buttons = QDialogButtonBox()
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.facts)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        language.changed.connect(self.retranslate)
        self.pod_model.show(handle.state)
        self.board.attach(store, nursery)
        self.board.show_node(handle.name, node)
        self.retranslate()
        nursery.start_soon(follow_changes, handle.state, self._scope, self._changed)

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        self.setWindowTitle(tr("detail.node_title", node=self.node))
        self.close_button.setText(tr("button.close"))
        self.facts.retranslate()
        self.conditions.retranslate()
        self.taints.retranslate()
        self.taints_title.setText(tr("detail.taints"))
        self.no_taints.setText(tr("detail.no_taints"))
        self.tabs.setTabText(0, tr("detail.tab.charts"))
        self.tabs.setTabText(1, tr("detail.tab.conditions"))
        self.render()

    def record(self) -> NodeRecord | None:
        found = self.handle.state.get("Node", "", self.node)
        return found if isinstance(found, NodeRecord) else None

    def render(self) -> None:
        tr = self.language.tr
        self.tabs.setTabText(2, tr("detail.tab.pods", count=self.pod_model.rowCount()))
        node = self.record()
        if node is None:
            self.heading.setText(f"<b>{self.node}</b> — {tr('detail.gone')}")
            return
        status, colour = node_status(node)
        self.heading.setText(
            f"<b>{node.name}</b> — <span style='color:{colour.name()}'>{status}</span>"
        )
        facts = self.facts
        facts.set("detail.status", status, colour)
        facts.set("detail.roles", ", ".join(node.roles) or "<none>")
        facts.set("detail.version", node.kubelet_version)
        facts.set("detail.age", age(time.time() - node.created) if node.created else "—")
        facts.set("detail.internal_ip", node.internal_ip)
        facts.set("detail.schedulable", tr("detail.no") if node.unschedulable else tr("detail.yes"))
        for key, capacity, allocatable in (
            ("detail.cpu", cores(node.cpu_capacity_milli), cores(node.cpu_allocatable_milli)),
            ("detail.memory", gib(node.memory_capacity_bytes), gib(node.memory_allocatable_bytes)),
            ("detail.pods", str(node.pods_capacity), str(node.pods_allocatable)),
        ):
            facts.set(key, tr("detail.capacity", capacity=capacity, allocatable=allocatable))
        rows = []
        for condition in node.conditions:
            good = (condition.status == "True") == (condition.type == "Ready")
            rows.append(
                (
                    condition.type,
                    (condition.status, GREEN if good else RED),
                    condition.reason,
                    when(condition.since, self.language),
                    condition.message,
                )
            )
        self.conditions.fill(rows, [c.message for c in node.conditions])
        self.taints.fill([(t.key, t.value, t.effect) for t in node.taints])
        self.taints.setVisible(bool(node.taints))
        self.no_taints.setVisible(not node.taints)

    # --- live ------------------------------------------------------------------------------

    def _changed(self, batch: list[Change]) -> None:
        self.pod_model.apply(batch)
        if any(c.kind in ("Node", "Pod") for c in batch):
            self.render()

    def _pod_chosen(self, index: QModelIndex) -> None:
        if self.open_pod is not None and index.isValid():
            record = self.pod_model.record(self.pod_proxy.mapToSource(index).row())
            assert isinstance(record, PodRecord)
            self.open_pod(record)

    def set_dark(self, dark: bool) -> None:
        self.board.set_dark(dark)

    def done(self, result: int) -> None:
        self._scope.cancel()
        self.board.stop()
        super().done(result)
