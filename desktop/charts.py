"""Time-series charts over the history store: every chart in the app is a ``TimeChart``,
and a ``ChartBoard`` feeds a set of them for one node.

A board reads the store's rollups for the chosen range (15 min to 30 days; the store picks
the resolution so a series never brings more than ~1,500 points), then asks the store
only for what is newer than its last point every few seconds and appends it, so a chart
follows the node live without reading its range again. pyqtgraph downsamples and clips
to the view on top of that. Rollups carry a min–max band under the average. A crosshair
follows the mouse; the line under each chart reads the values there (or, with the mouse
away, the newest ones) in the UI language's number and time format, and doubles as the
legend. Queries run in a worker thread; the Qt thread never waits for SQLite.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import trio
from pyqtgraph.graphicsItems.DateAxisItem import adjustTimestampToPreferredUtcOffset
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.language import Language
from headless_agent import i18n
from headless_agent.store import HistoryStore, SeriesPoints, SeriesSelector, UnknownCluster

Array = npt.NDArray[np.float64]

#: (seconds, catalog id) of the ranges a board offers
RANGES = (
    (15 * 60, "chart.range.minutes15"),
    (3600, "history.range.hour"),
    (6 * 3600, "history.range.hours6"),
    (86400, "history.range.day"),
    (7 * 86400, "history.range.week"),
    (30 * 86400, "history.range.days30"),
)
DEFAULT_RANGE = 2  # six hours
#: points per series the store may return (and a chart may hold before it reads again)
MAX_POINTS = 1500
#: how often a board asks the store for samples newer than its last point
LIVE_SECONDS = 5.0
#: how soon a board with nothing to show tries again (metrics may just be arriving)
EMPTY_RETRY_SECONDS = 2.0
COLOURS = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b")
#: pyqtgraph's strftime formats that print English names, and the CLDR skeleton that says
#: the same in the reader's language ("Mon 03" → "3 Mon", "3日周一", "3日(月)")
_NAMED_FORMATS = {"%a %d": "Ed", "%b": "MMM"}
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _same(values: Array) -> Array:
    return values


def busy_from_idle(values: Array) -> Array:
    return 100.0 - values


def to_gib(values: Array) -> Array:
    return values / 2**30


def to_mib(values: Array) -> Array:
    return values / 2**20


@dataclass(frozen=True)
class Line:
    """The series one pattern selects (a name or a shell pattern over stored names), how
    their values are shown, and what each line is called: the catalog message ``name``
    filled with the series' labels, else the values of ``labels``."""

    pattern: str
    transform: Callable[[Array], Array] = _same
    name: str | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartSpec:
    key: str
    #: catalog id of the chart's title
    title: str
    lines: tuple[Line, ...]
    #: catalog id that puts a value in its unit ("{value}%"); None: the bare number
    unit: str | None = None
    digits: int = 1
    #: min–max bands under rolled-up averages (off where many lines would hide each other)
    bands: bool = True


def series_labels(name: str) -> dict[str, str]:
    """The labels of a stored series name: ``net{interface="eth0"}`` → {"interface": "eth0"}."""
    inner = name.partition("{")[2]
    return {key: value.replace('\\"', '"') for key, value in _LABEL.findall(inner)}


def line_of(specs: Sequence[ChartSpec], name: str) -> tuple[ChartSpec, Line] | None:
    for spec in specs:
        for line in spec.lines:
            if fnmatchcase(name, line.pattern):
                return spec, line
    return None


class DateAxis(pg.DateAxisItem):  # type: ignore[misc]
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


@dataclass
class _Drawn:
    """One series on a chart: its points as shown (transformed) and its graphics items."""

    name: str
    label: str
    colour: str
    step: float | None
    resolution: str
    times: Array
    average: Array
    low: Array
    high: Array
    item: Any
    band: tuple[Any, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _shown(line: Line, points: SeriesPoints) -> tuple[Array, Array, Array]:
    average = line.transform(points.average.astype(np.float64))
    low = line.transform(points.minimum.astype(np.float64))
    high = line.transform(points.maximum.astype(np.float64))
    return average, np.minimum(low, high), np.maximum(low, high)


class TimeChart(QWidget):
    """One chart: a title, the plot (date axis, crosshair) and the values line under it."""

    def __init__(self, spec: ChartSpec, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.language = language
        self._series: dict[str, _Drawn] = {}
        self._hover: float | None = None
        self._dark = False
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)  # through the font: a style sheet would pin the theme's colours
        self.title.setFont(font)
        self.plot = pg.PlotWidget(axisItems={"bottom": DateAxis(language)})
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMinimumHeight(150)
        self.plot.setMenuEnabled(False)
        self.crosshair = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#94a3b8"))
        self.crosshair.hide()
        self.plot.addItem(self.crosshair, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.readout = QLabel()
        self.readout.setProperty("dynamic", True)  # times, values and series names are data
        self.readout.setWordWrap(True)
        self.readout.setMinimumHeight(18)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.set_dark(False)
        self.retranslate()

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.title.setText(self.language.tr(self.spec.title))
        axis: Any = self.plot.getAxis("bottom")
        axis.picture = None  # the tick labels again, in the new language
        axis.update()
        for drawn in self._series.values():
            drawn.label = self._label(drawn.name)
        self._render_readout()

    def _label(self, name: str) -> str:
        found = line_of((self.spec,), name)
        labels = series_labels(name)
        if found is None:
            return name
        line = found[1]
        if line.name is not None:
            return self.language.tr(line.name, **labels)
        parts = [labels[key] for key in line.labels if labels.get(key)]
        return " ".join(parts) or name

    def format_value(self, value: float) -> str:
        if not math.isfinite(value):
            return "—"
        number = i18n.format_number(round(value, self.spec.digits), self.language.code)
        return number if self.spec.unit is None else self.language.tr(self.spec.unit, value=number)

    # --- data ------------------------------------------------------------------------------

    @property
    def series_names(self) -> list[str]:
        return list(self._series)

    def point_count(self) -> int:
        return sum(len(d.times) for d in self._series.values())

    @property
    def resolution(self) -> str | None:
        first = next(iter(self._series.values()), None)
        return first.resolution if first else None

    @property
    def step(self) -> float | None:
        first = next(iter(self._series.values()), None)
        return first.step if first else None

    def last_time(self) -> float | None:
        ends = [float(d.times[-1]) for d in self._series.values() if len(d.times)]
        return max(ends) if ends else None

    def clear(self) -> None:
        for drawn in self._series.values():
            self.plot.removeItem(drawn.item)
            if drawn.band is not None:
                self.plot.removeItem(drawn.extra["fill"])
        self._series.clear()
        self._render_readout()

    def set_points(self, found: Sequence[SeriesPoints]) -> None:
        """Draw these series afresh (those of other charts are ignored)."""
        self.clear()
        mine = [(p, line_of((self.spec,), p.series.name)) for p in found]
        mine = [(p, f) for p, f in mine if f is not None and len(p)]
        many = len(mine) > len(COLOURS)
        for index, (points, (_, line)) in enumerate(mine):
            colour = pg.intColor(index, hues=len(mine)).name() if many else COLOURS[index]
            average, low, high = _shown(line, points)
            item = pg.PlotDataItem(points.times, average, pen=pg.mkPen(colour, width=1.5))
            drawn = _Drawn(
                points.series.name,
                self._label(points.series.name),
                colour,
                points.step,
                points.resolution,
                points.times.astype(np.float64),
                average,
                low,
                high,
                item,
            )
            if points.step is not None and self.spec.bands:  # a rollup: min to max
                lower = pg.PlotCurveItem(points.times, low, pen=None)
                upper = pg.PlotCurveItem(points.times, high, pen=None)
                fill = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(colour + "33"))
                self.plot.addItem(fill)
                drawn.band = (lower, upper)
                drawn.extra["fill"] = fill
            self.plot.addItem(item)
            # The store keeps to the budget; pyqtgraph keeps what is drawn to the pixels
            # (set once the item is in its view box: it asks the box for the range).
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self._series[drawn.name] = drawn
        self._render_readout()

    def extend(self, found: Sequence[SeriesPoints], since: float) -> bool:
        """Add what is newer than ``since`` (buckets from ``since`` on replace the ones
        drawn); drop what fell out of the range. False when the points do not fit (another
        resolution, a new series, over the budget): the caller reads the range again."""
        mine = [p for p in found if line_of((self.spec,), p.series.name) is not None and len(p)]
        changed = False
        for points in mine:
            drawn = self._series.get(points.series.name)
            if drawn is None or points.step != drawn.step:
                return False
            found_line = line_of((self.spec,), points.series.name)
            assert found_line is not None
            average, low, high = _shown(found_line[1], points)
            keep = drawn.times < since
            times = np.concatenate([drawn.times[keep], points.times.astype(np.float64)])
            if len(times) > MAX_POINTS:
                return False
            drawn.times = times
            drawn.average = np.concatenate([drawn.average[keep], average])
            drawn.low = np.concatenate([drawn.low[keep], low])
            drawn.high = np.concatenate([drawn.high[keep], high])
            changed = True
        if changed:
            self._redraw_data()
        return True

    def trim(self, start: float) -> None:
        """Forget points before ``start`` (the range slides with time)."""
        for drawn in self._series.values():
            keep = drawn.times >= start
            if not keep.all():
                drawn.times, drawn.average = drawn.times[keep], drawn.average[keep]
                drawn.low, drawn.high = drawn.low[keep], drawn.high[keep]
        self._redraw_data()

    def _redraw_data(self) -> None:
        for drawn in self._series.values():
            drawn.item.setData(drawn.times, drawn.average)
            if drawn.band is not None:
                drawn.band[0].setData(drawn.times, drawn.low)
                drawn.band[1].setData(drawn.times, drawn.high)
        self._render_readout()

    # --- crosshair -------------------------------------------------------------------------

    def _mouse_moved(self, position: QPointF) -> None:
        box = self.plot.getPlotItem().vb
        if not box.sceneBoundingRect().contains(position):
            self.show_values_at(None)
            return
        self.show_values_at(box.mapSceneToView(position).x())

    def show_values_at(self, when: float | None) -> None:
        """The crosshair at ``when`` and the values there (None: the newest values)."""
        self._hover = when
        self.crosshair.setVisible(when is not None and bool(self._series))
        self._render_readout()

    def _render_readout(self) -> None:
        if not self._series:
            self.readout.setText("")
            return
        at = self._hover
        parts = []
        moment: float | None = None
        for drawn in self._series.values():
            if not len(drawn.times):
                continue
            if at is None:
                index = len(drawn.times) - 1
            else:
                index = int(np.clip(np.searchsorted(drawn.times, at), 0, len(drawn.times) - 1))
                if index > 0 and abs(drawn.times[index - 1] - at) < abs(drawn.times[index] - at):
                    index -= 1
            if moment is None:
                moment = float(drawn.times[index])
            value = self.format_value(float(drawn.average[index]))
            parts.append(
                f"<span style='color:{drawn.colour}'>■</span> "
                # a value never wraps away from its unit
                f"{escape(drawn.label)}: <b>{escape(value).replace(' ', '&nbsp;')}</b>"
            )
        if moment is None:
            self.readout.setText("")
            return
        if at is not None:
            self.crosshair.setPos(moment)
        stamp = escape(i18n.format_time(moment, self.language.code))
        self.readout.setText(f"<span>{stamp}</span>&nbsp;&nbsp; " + "&nbsp;&nbsp; ".join(parts))

    def readout_text(self) -> str:
        """The values line as plain text."""
        return re.sub(r"<[^>]+>", "", self.readout.text()).replace("&nbsp;", " ")

    # --- looks -----------------------------------------------------------------------------

    def set_dark(self, dark: bool) -> None:
        """The chart draws its own background and axes: follow the app's theme."""
        self._dark = dark
        background, foreground = ("#16191d", "#c9d1d9") if dark else ("w", "#334155")
        self.plot.setBackground(background)
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(foreground)
            axis.setTextPen(foreground)


class ChartBoard(QWidget):
    """A range selector over charts of one node, fed from the store and kept live.

    ``controls`` is the row holding the range selector; an owner may add its own widgets.
    ``drawn`` says how many points the charts hold after each read or append.
    """

    drawn = Signal(int)

    def __init__(
        self,
        specs: Sequence[ChartSpec],
        language: Language,
        *,
        columns: int = 2,
        hide_empty: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.specs = tuple(specs)
        self.language = language
        self.hide_empty = hide_empty
        self._store: HistoryStore | None = None
        self._nursery: trio.Nursery | None = None
        self._cluster: str | None = None
        self._node = ""
        self._loading: trio.CancelScope | None = None
        self._live: trio.CancelScope | None = None
        self._generation = 0
        self._loaded_at = 0.0
        #: reads of the whole range and appends so far (tests and the curious)
        self.reads = 0
        self.appends = 0
        self.range_box = QComboBox()
        for seconds, _ in RANGES:
            self.range_box.addItem("", seconds)
        self.range_box.setCurrentIndex(DEFAULT_RANGE)
        self.range_box.currentIndexChanged.connect(self.reload)
        self.controls = QHBoxLayout()
        self.controls.addStretch(1)
        self.controls.addWidget(self.range_box)
        self.charts: dict[str, TimeChart] = {}
        self.grid = QGridLayout()
        self.columns = columns
        for spec in self.specs:
            self.charts[spec.key] = TimeChart(spec, language)
        self._place(list(self.charts.values()))
        for chart in self.charts.values():
            chart.setVisible(not hide_empty)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid, 1)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        for index, (_, key) in enumerate(RANGES):
            self.range_box.setItemText(index, tr(key))
        self.empty.setText(tr("chart.empty"))
        for chart in self.charts.values():
            chart.retranslate()

    @property
    def cluster(self) -> str | None:
        return self._cluster

    @property
    def node(self) -> str:
        return self._node

    @property
    def span(self) -> int:
        return int(self.range_box.currentData())

    def point_count(self) -> int:
        return sum(chart.point_count() for chart in self.charts.values())

    def set_dark(self, dark: bool) -> None:
        for chart in self.charts.values():
            chart.set_dark(dark)

    # --- feeding ---------------------------------------------------------------------------

    def attach(self, store: HistoryStore | None, nursery: trio.Nursery) -> None:
        self._store, self._nursery = store, nursery

    def show_node(self, cluster: str | None, node: str) -> None:
        if (cluster, node) != (self._cluster, self._node):
            self._cluster, self._node = cluster, node
            self.reload()

    def stop(self) -> None:
        """Stop reading and following (the owner closes)."""
        for scope in (self._loading, self._live):
            if scope is not None:
                scope.cancel()
        self._loading = self._live = None

    def _selector(self) -> SeriesSelector | None:
        if self._cluster is None or not self._node:
            return None
        names = tuple(line.pattern for spec in self.specs for line in spec.lines)
        return SeriesSelector(self._cluster, (self._node,), names)

    def reload(self) -> None:
        """Read the whole range again, then follow it live."""
        self.stop()
        store, nursery, selector = self._store, self._nursery, self._selector()
        self._generation += 1
        if store is None or nursery is None or selector is None:
            self._draw([])
            return
        end = time.time()
        start = end - self.span
        scope = self._loading = trio.CancelScope()

        def query() -> list[SeriesPoints]:
            try:
                return store.query_series(selector, start, end, max_points=MAX_POINTS)
            except UnknownCluster:
                return []

        async def load() -> None:
            with scope:
                found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                self._loaded_at = end
                self.reads += 1
                self._draw(found)
                self._live = trio.CancelScope()
                nursery.start_soon(self._follow, self._live)

        nursery.start_soon(load)

    def _place(self, shown: list[TimeChart]) -> None:
        """The charts shown, in order, filling the grid's rows (no holes)."""
        for chart in self.charts.values():
            self.grid.removeWidget(chart)
        for index, chart in enumerate(shown):
            self.grid.addWidget(chart, index // self.columns, index % self.columns)

    def _draw(self, found: list[SeriesPoints]) -> None:
        for chart in self.charts.values():
            chart.set_points(found)
        if self.hide_empty:
            shown = [c for c in self.charts.values() if c.point_count() > 0]
            self._place(shown)
            for chart in self.charts.values():
                chart.setVisible(chart in shown)
        total = self.point_count()
        empty = self._store is not None and total == 0 and bool(self._node)
        self.empty.setVisible(self.hide_empty and empty)
        self.drawn.emit(total)

    async def _follow(self, scope: trio.CancelScope) -> None:
        """Every few seconds: only the samples newer than the last point, appended."""
        with scope:
            while True:
                drawn = self.point_count() > 0
                await trio.sleep(LIVE_SECONDS if drawn else EMPTY_RETRY_SECONDS)
                if not self.isVisible():
                    continue
                if not drawn:
                    self.reload()  # nothing yet: metrics may just be arriving
                    return
                if not await self._append():
                    self.reload()
                    return

    async def _append(self) -> bool:
        """Ask for what came since the last point, at the charts' resolution. False when
        the range must be read again (points that do not fit, a new bucket size)."""
        store, selector = self._store, self._selector()
        if store is None or selector is None:
            return True
        charts = [c for c in self.charts.values() if c.point_count()]
        resolution = charts[0].resolution if charts else None
        step = charts[0].step if charts else None
        last = min((c.last_time() or 0.0) for c in charts) if charts else 0.0
        end = time.time()
        # Raw points: the ones after the last; buckets: from the last one on (it grows).
        since = last + 1e-3 if step is None else last
        generation = self._generation

        def query() -> list[SeriesPoints]:
            try:
                return store.query_series(
                    selector, since, end, max_points=MAX_POINTS, resolution=resolution
                )
            except UnknownCluster:
                return []

        found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
        if generation != self._generation:
            return True  # read again meanwhile: that read follows on its own
        if any(len(p) and p.step != step for p in found):
            # A coarser chart (buckets merged): read it again once a bucket is complete.
            return end - self._loaded_at < (step or 0.0)
        for chart in charts:
            if not chart.extend(found, since):
                return False
        known = {n for c in charts for n in c.series_names}
        if any(len(p) and p.series.name not in known for p in found):
            return False  # a series that was not there: draw its chart
        for chart in charts:
            chart.trim(end - self.span)
        self.appends += 1
        self.drawn.emit(self.point_count())
        return True
