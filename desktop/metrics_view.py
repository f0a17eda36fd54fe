"""The Metrics tab: one node's CPU, memory, load and network over a chosen range.

Charts are pyqtgraph plots fed from the history (the store picks the resolution so a
chart gets at most ~1,500 points per series); rollup bands (min–max) are drawn under the
average when the range is long. Data comes from nodeprobe through the cluster's agent
(the demo fleet simulates it); queries run in a worker thread and refresh every 15 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
import trio
from pyqtgraph.graphicsItems.DateAxisItem import adjustTimestampToPreferredUtcOffset
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.language import Language
from headless_agent import i18n
from headless_agent.store import HistoryStore, SeriesPoints, SeriesSelector, UnknownCluster

RANGES = (
    (3600, "history.range.hour"),
    (6 * 3600, "history.range.hours6"),
    (86400, "history.range.day"),
    (7 * 86400, "history.range.week"),
)
REFRESH_SECONDS = 15.0
EMPTY_RETRY_SECONDS = 2.0
IDLE = 'cpu_usage_percent{mode="idle"}'
#: chart key → (catalog title, series patterns, how to turn values into what is shown)
CHARTS = {
    "cpu": ("metrics.cpu", (IDLE,), lambda v: 100.0 - v),
    "memory": ("metrics.memory", ("memory_used_percent",), lambda v: v),
    "load": ("metrics.load", ("load1",), lambda v: v),
    "network": (
        "metrics.network",
        ("network_receive_bytes_per_second{*}", "network_transmit_bytes_per_second{*}"),
        lambda v: v / 2**20,
    ),
}
_COLOURS = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444")
#: pyqtgraph's strftime formats that print English names, and the CLDR skeleton that says
#: the same in the reader's language ("Mon 03" → "3 Mon", "3日周一", "3日(月)")
_NAMED_FORMATS = {"%a %d": "Ed", "%b": "MMM"}


class _DateAxis(pg.DateAxisItem):  # type: ignore[misc]
    """pyqtgraph's date axis, with weekday and month names in the UI language."""

    def __init__(self, language: Language) -> None:
        super().__init__()
        self.language = language

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:
        texts: list[str] = super().tickStrings(values, scale, spacing)
        spec = next((s for s in self.zoomLevel.tickSpecs if s.spacing == spacing), None)
        skeleton = _NAMED_FORMATS.get(getattr(spec, "format", ""))
        if skeleton is None:
            return texts
        return [
            i18n.format_skeleton(
                adjustTimestampToPreferredUtcOffset(v, self.utcOffset), skeleton, self.language.code
            )
            for v in values
        ]


class MetricsView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._store: HistoryStore | None = None
        self._nursery: trio.Nursery | None = None
        self._cluster: str | None = None
        self._nodes: list[str] = []
        self._loading: trio.CancelScope | None = None
        self._drawn = False
        self._shown: tuple[str, int] = ("", 0)
        self.node_box = QComboBox()
        self.node_box.setProperty("dynamic", True)  # node names are data
        self.node_box.currentIndexChanged.connect(self.reload)
        self.range_box = QComboBox()
        for seconds, _ in RANGES:
            self.range_box.addItem("", seconds)
        self.range_box.setCurrentIndex(1)
        self.range_box.currentIndexChanged.connect(self.reload)
        self.summary = QLabel()
        self.summary.setProperty("dynamic", True)
        self.summary.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.node_box, 1)
        controls.addWidget(self.range_box)
        pg.setConfigOptions(antialias=True, background="w", foreground="#334155")
        self.plots: dict[str, pg.PlotWidget] = {}
        self.titles: dict[str, QLabel] = {}
        grid = QGridLayout()
        for index, key in enumerate(CHARTS):
            plot = pg.PlotWidget(axisItems={"bottom": _DateAxis(language)})
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=True, y=False)
            plot.setMinimumHeight(160)
            title = QLabel()
            box = QVBoxLayout()
            box.addWidget(title)
            box.addWidget(plot, 1)
            holder = QWidget()
            holder.setLayout(box)
            grid.addWidget(holder, index // 2, index % 2)
            self.plots[key] = plot
            self.titles[key] = title
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        for index, (_, key) in enumerate(RANGES):
            self.range_box.setItemText(index, tr(key))
        for key, (title, _, _) in CHARTS.items():
            self.titles[key].setText(tr(title))
            axis: Any = self.plots[key].getAxis("bottom")
            axis.picture = None  # the tick labels again, in the new language
            axis.update()
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
        self._store, self._nursery = store, nursery
        nursery.start_soon(self._refresh_forever)

    def show_cluster(self, name: str | None, nodes: list[str]) -> None:
        if name == self._cluster and nodes == self._nodes:
            return
        self._cluster, self._nodes = name, nodes
        self.node_box.blockSignals(True)
        self.node_box.clear()
        self.node_box.addItems(nodes)
        self.node_box.blockSignals(False)
        self.reload()

    async def _refresh_forever(self) -> None:
        while True:
            # Sooner while there is nothing to show: metrics may just be arriving.
            await trio.sleep(REFRESH_SECONDS if self._drawn else EMPTY_RETRY_SECONDS)
            if self.isVisible():
                self.reload()

    def reload(self) -> None:
        store, nursery, cluster = self._store, self._nursery, self._cluster
        node = self.node_box.currentText()
        if store is None or nursery is None or cluster is None or not node:
            self._draw({}, "")
            return
        if self._loading is not None:
            self._loading.cancel()
        end = time.time()
        start = end - int(self.range_box.currentData())
        names = tuple(pattern for _, patterns, _ in CHARTS.values() for pattern in patterns)
        scope = self._loading = trio.CancelScope()

        def query() -> list[SeriesPoints]:
            try:
                return store.query_series(SeriesSelector(cluster, (node,), names), start, end)
            except UnknownCluster:
                return []

        async def load() -> None:
            with scope:
                found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                self._draw(_by_chart(found), node)

        nursery.start_soon(load)

    def _draw(self, charts: dict[str, list[SeriesPoints]], node: str) -> None:
        total = 0
        for key, plot in self.plots.items():
            plot.clear()
            _, _, shown = CHARTS[key]
            for colour, points in zip(_COLOURS, charts.get(key, []), strict=False):
                if not len(points):
                    continue
                total += len(points)
                average = np.vectorize(shown)(points.average)
                if points.step is not None:  # a rollup: the band between min and max
                    low = np.vectorize(shown)(points.minimum)
                    high = np.vectorize(shown)(points.maximum)
                    lower = pg.PlotDataItem(points.times, np.minimum(low, high), pen=None)
                    upper = pg.PlotDataItem(points.times, np.maximum(low, high), pen=None)
                    plot.addItem(pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(colour + "33")))
                plot.plot(points.times, average, pen=pg.mkPen(colour, width=1.5))
        self._drawn = total > 0
        self._shown = (node, total)
        self._render_summary()

    def set_dark(self, dark: bool) -> None:
        """Follow the app's theme: the charts draw their own background and axes."""
        background, foreground = ("#16191d", "#c9d1d9") if dark else ("w", "#334155")
        for plot in self.plots.values():
            plot.setBackground(background)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(foreground)
                axis.setTextPen(foreground)


def _by_chart(found: list[SeriesPoints]) -> dict[str, list[SeriesPoints]]:
    charts: dict[str, list[SeriesPoints]] = {}
    for points in found:
        name = points.series.name
        for key, (_, patterns, _) in CHARTS.items():
            if any(name == p or (p.endswith("{*}") and name.startswith(p[:-2])) for p in patterns):
                charts.setdefault(key, []).append(points)
    return charts
