"""The Metrics tab: one node's CPU, memory, load and network over a chosen range.

The charts are a ``desktop.charts.ChartBoard``: the store's rollups for the range (at most
~1,500 points per series, min–max bands on rollups), then the newest samples appended as
they arrive, a crosshair with the values. Data comes from nodeprobe through the cluster's
agent (the demo fleet simulates it). "Details" opens the node's page with every chart.
"""

from __future__ import annotations

import pyqtgraph as pg
import trio
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.charts import ChartBoard, ChartSpec, Line, busy_from_idle, to_mib
from desktop.language import Language
from headless_agent import i18n
from headless_agent.store import HistoryStore

IDLE = 'cpu_usage_percent{mode="idle"}'
CHARTS = (
    ChartSpec(
        "cpu",
        "metrics.cpu",
        (Line(IDLE, busy_from_idle, "chart.line.busy"),),
        unit="chart.unit.percent",
    ),
    ChartSpec(
        "memory",
        "metrics.memory",
        (Line("memory_used_percent", name="chart.line.used"),),
        unit="chart.unit.percent",
    ),
    ChartSpec("load", "metrics.load", (Line("load1", name="chart.line.load1"),), digits=2),
    ChartSpec(
        "network",
        "metrics.network",
        (
            Line("network_receive_bytes_per_second{*}", to_mib, "chart.line.received"),
            Line("network_transmit_bytes_per_second{*}", to_mib, "chart.line.sent"),
        ),
        unit="chart.unit.mib_per_second",
        digits=2,
    ),
)


class MetricsView(QWidget):
    #: the user asked for the node's page (its name)
    details_requested = Signal(str)

    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._cluster: str | None = None
        self._nodes: list[str] = []
        self._shown: tuple[str, int] = ("", 0)
        pg.setConfigOptions(antialias=True, background="w", foreground="#334155")
        self.board = ChartBoard(CHARTS, language)
        self.board.drawn.connect(self._drawn)
        self.node_box = QComboBox()
        self.node_box.setProperty("dynamic", True)  # node names are data
        self.node_box.setMinimumWidth(260)
        self.node_box.currentIndexChanged.connect(self.reload)
        self.details_button = QPushButton()
        self.details_button.clicked.connect(self._details)
        self.board.controls.insertWidget(0, self.node_box, 1)
        self.board.controls.insertWidget(1, self.details_button)
        self.range_box = self.board.range_box
        self.summary = QLabel()
        self.summary.setProperty("dynamic", True)
        self.summary.setWordWrap(True)
        #: each chart's plot and title, by key
        self.charts = self.board.charts
        self.plots: dict[str, pg.PlotWidget] = {k: c.plot for k, c in self.charts.items()}
        self.titles: dict[str, QLabel] = {k: c.title for k, c in self.charts.items()}
        layout = QVBoxLayout(self)
        layout.addWidget(self.board, 1)
        # The summary goes under the controls, above the charts.
        self.board.layout().insertWidget(1, self.summary)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.details_button.setText(self.language.tr("detail.open"))
        self.details_button.setToolTip(self.language.tr("detail.open_hint"))
        self._render_summary()

    def _render_summary(self) -> None:
        node, total = self._shown
        tr = self.language.tr
        if not node:
            self.summary.setText("")
        elif total:
            points = i18n.format_number(total, self.language.code)
            self.summary.setText(tr("metrics.summary", node=node, points=points, count=total))
        else:
            self.summary.setText(tr("metrics.none", node=node))

    def attach(self, store: HistoryStore | None, nursery: trio.Nursery) -> None:
        self.board.attach(store, nursery)
        self.reload()

    def show_cluster(self, name: str | None, nodes: list[str]) -> None:
        if name == self._cluster and nodes == self._nodes:
            return
        current = self.node_box.currentText()
        self._cluster, self._nodes = name, nodes
        self.node_box.blockSignals(True)
        self.node_box.clear()
        self.node_box.addItems(nodes)
        if current in nodes:  # the same cluster with a node more or less: stay on it
            self.node_box.setCurrentIndex(nodes.index(current))
        self.node_box.blockSignals(False)
        self.reload()

    def reload(self) -> None:
        node = self.node_box.currentText()
        self.details_button.setEnabled(bool(self._cluster and node))
        if (self._cluster, node) == (self.board.cluster, self.board.node):
            self.board.reload()
        else:
            self.board.show_node(self._cluster, node)

    def _drawn(self, total: int) -> None:
        self._shown = (self.node_box.currentText(), total)
        self._render_summary()

    def _details(self) -> None:
        node = self.node_box.currentText()
        if node:
            self.details_requested.emit(node)

    def set_dark(self, dark: bool) -> None:
        """Follow the app's theme: the charts draw their own background and axes."""
        self.board.set_dark(dark)
