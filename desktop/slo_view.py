"""The SLOs tab: for the selected cluster, each objective's availability and latency against
its target over 1 h, 1 d, 7 d and 30 d, the error budget left and the burn rate; every
Ingress host/path seen with its request rate and percentiles; and the burn-rate chart of
the chosen objective over the last day with the alerting thresholds.

Everything is computed by the engine (``headless_agent.slo.status``) from the history file
in a worker thread, when the tab is shown and every 30 s while it is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
import trio
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.charts import DateAxis
from desktop.extensions import REGISTRY, ViewContext, ViewSpec
from desktop.history_models import _QueryTableModel
from desktop.language import Language
from desktop.table_view import sorting_proxy, table_view
from headless_agent import i18n
from headless_agent.slo.burn_rates import TABLES
from headless_agent.slo.objectives import Objective
from headless_agent.slo.status import (
    BurnRateSeries,
    ObjectiveStatus,
    WindowStatus,
    burn_rate_series,
    objective_status,
    target_status,
)
from headless_agent.store import HistoryStore, UnknownCluster

REFRESH_MS = 30_000
CHART_HOURS = 24.0
_RED, _AMBER, _GREEN = QColor("#d64545"), QColor("#d98b1c"), QColor("#2e9e5b")
_LINES = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b")


def _percent(value: float, code: str, digits: int = 3) -> str:
    if math.isnan(value):
        return "—"
    return f"{i18n.format_number(round(value * 100, digits), code)} %"


class ObjectiveTableModel(_QueryTableModel[ObjectiveStatus]):
    columns = (
        "objective", "target", "goal", "window_1h", "window_1d", "window_7d", "window_30d",
        "latency_good", "budget_left", "burn_1h",
    )  # fmt: skip

    def cells(self, row: ObjectiveStatus) -> Sequence[tuple[str, Any]]:
        code = self._language.code
        objective = row.objective
        target = f"{objective.host}{objective.path or ''}"
        windows = {w.window: w for w in row.windows}
        latency = "—"
        if objective.latency is not None:
            good = windows["1d"].latency_good
            latency = self._language.tr(
                "slo.latency_good",
                share=_percent(good, code, 2),
                threshold=i18n.format_number(round(objective.latency * 1000), code),
            )
        burn = windows["1h"].burn_rate
        return (
            (objective.name, objective.name),
            (target, target),
            (_percent(objective.availability / 100, code), objective.availability),
            *(
                (_percent(windows[w].availability, code), windows[w].availability)
                for w in ("1h", "1d", "7d", "30d")
            ),
            (latency, latency),
            (_percent(row.budget_remaining, code, 1), row.budget_remaining),
            (
                "—" if math.isnan(burn) else f"{i18n.format_number(round(burn, 2), code)}×",
                0.0 if math.isnan(burn) else burn,
            ),
        )

    def colour(self, row: ObjectiveStatus, column: int) -> QColor | None:
        if column == 8:
            left = row.budget_remaining
            return _RED if left <= 0 else _AMBER if left < 0.25 else _GREEN
        if column == 9:
            burn = next(w.burn_rate for w in row.windows if w.window == "1h")
            return _RED if burn >= 6 else _AMBER if burn > 1 else None
        return None


@dataclass(frozen=True, slots=True)
class TargetRow:
    target: str
    windows: tuple[WindowStatus, ...]


class TargetTableModel(_QueryTableModel[TargetRow]):
    columns = (
        "target", "request_rate", "window_1h", "window_1d", "window_7d", "window_30d",
        "p50", "p90", "p95", "p99",
    )  # fmt: skip

    def cells(self, row: TargetRow) -> Sequence[tuple[str, Any]]:
        code = self._language.code
        windows = {w.window: w for w in row.windows}
        hour = windows["1h"]
        percentiles = dict(hour.percentiles)
        rate = i18n.format_number(round(hour.request_rate, 2), code)

        def millis(q: float) -> tuple[str, float]:
            value = percentiles.get(q, math.nan)
            if math.isnan(value):
                return "—", math.inf
            return f"{i18n.format_number(round(value * 1000), code)} ms", value

        return (
            (row.target, row.target),
            (self._language.tr("slo.per_second", rate=rate), hour.request_rate),
            *(
                (_percent(windows[w].availability, code), windows[w].availability)
                for w in ("1h", "1d", "7d", "30d")
            ),
            millis(0.5),
            millis(0.9),
            millis(0.95),
            millis(0.99),
        )


@dataclass(frozen=True)
class Loaded:
    objectives: list[ObjectiveStatus]
    targets: list[TargetRow]
    burn: list[BurnRateSeries]


class SloView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.context: ViewContext | None = None
        self._loading: trio.CancelScope | None = None
        self._chosen: str | None = None
        #: the user clicked an objective (else the one burning fastest is charted)
        self._picked = False
        self._last: tuple[Loaded, str, Objective | None] | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setProperty("dynamic", True)  # counts and the cluster's name
        self.edit_button = QPushButton()
        self.edit_button.clicked.connect(self._edit)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.edit_button)
        self.objective_model = ObjectiveTableModel(language, self)
        self.objective_view = table_view(
            sorting_proxy(self.objective_model, self),
            (120, 170, 60, 72, 72, 72, 72, 150, 85),
        )
        self.objective_view.clicked.connect(self._objective_clicked)
        self.target_model = TargetTableModel(language, self)
        self.target_view = table_view(
            sorting_proxy(self.target_model, self), (220, 90, 80, 80, 80, 80, 70, 70, 70)
        )
        self.objectives_title, self.targets_title, self.chart_title = QLabel(), QLabel(), QLabel()
        self.chart_title.setProperty("dynamic", True)  # the objective's name
        self.chart = pg.PlotWidget(axisItems={"bottom": DateAxis(language)})
        self.chart.showGrid(x=True, y=True, alpha=0.2)
        self.chart.setMouseEnabled(x=True, y=False)
        self.chart.addLegend(offset=(10, 10))
        self.chart.setMinimumHeight(180)

        def titled(title: QLabel, widget: QWidget) -> QWidget:
            box = QWidget()
            layout = QVBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(title)
            layout.addWidget(widget, 1)
            return box

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(titled(self.objectives_title, self.objective_view))
        splitter.addWidget(titled(self.chart_title, self.chart))
        splitter.addWidget(titled(self.targets_title, self.target_view))
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.reload)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        self.edit_button.setText(tr("slo.edit"))
        self.objectives_title.setText(tr("slo.objectives"))
        self.targets_title.setText(tr("slo.targets"))
        self._render_chart_title()
        if self._last is not None:
            self._show(*self._last)  # the summary and the chart's legend, in this language

    def _render_chart_title(self) -> None:
        name = self._chosen or ""
        self.chart_title.setText(self.language.tr("slo.burn_chart", objective=name) if name else "")

    def set_dark(self, dark: bool) -> None:
        background, foreground = ("#16191d", "#c9d1d9") if dark else ("w", "#334155")
        self.chart.setBackground(background)
        for side in ("left", "bottom"):
            self.chart.getAxis(side).setPen(foreground)
            self.chart.getAxis(side).setTextPen(foreground)

    # --- wiring ------------------------------------------------------------------------------

    def attach(self, context: ViewContext) -> None:
        self.context = context
        self.edit_button.setEnabled(context.alerts is not None)

    def objectives(self) -> tuple[Objective, ...]:
        alerts = self.context.alerts if self.context is not None else None
        return alerts.alerting.config.slos if alerts is not None else ()

    def shown(self) -> None:
        self._timer.start()
        self.reload()

    def hideEvent(self, event: Any) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def _edit(self) -> None:
        window = self.context.window if self.context is not None else None
        if window is not None:
            window.tabs.setCurrentWidget(window.alerts_view)
            window.alerts_view.edit_settings()

    def _objective_clicked(self, index: Any) -> None:
        proxy = self.objective_view.model()
        row = proxy.mapToSource(index).row()  # type: ignore[attr-defined]
        self._chosen = self.objective_model.row(row).objective.name
        self._picked = True
        self.reload()

    # --- loading -----------------------------------------------------------------------------

    def reload(self) -> None:
        context = self.context
        if context is None:
            return
        store: HistoryStore | None = context.hub.history
        cluster = context.cluster
        tr = self.language.tr
        if store is None:
            self.summary.setText(tr("slo.no_history"))
            return
        if cluster is None:
            self.summary.setText(tr("slo.pick_cluster"))
            return
        objectives = [o for o in self.objectives() if o.applies_to(cluster)]
        picked = next((o for o in objectives if o.name == self._chosen), None)
        picked = picked if self._picked else None
        if self._loading is not None:
            self._loading.cancel()
        scope = self._loading = trio.CancelScope()
        now = time.time()

        def query() -> tuple[Loaded, Objective | None]:
            try:
                statuses = [objective_status(store, cluster, o, now) for o in objectives]
                targets = [TargetRow(t, w) for t, w in target_status(store, cluster, now).items()]
            except UnknownCluster:
                return Loaded([], [], []), None
            chosen = picked
            if chosen is None and statuses:  # the one burning its budget fastest
                chosen = max(statuses, key=lambda s: _burn(s.windows[0])).objective
            start = now - CHART_HOURS * 3600
            burn = burn_rate_series(store, cluster, chosen, start, now) if chosen else []
            return Loaded(statuses, targets, burn), chosen

        async def load() -> None:
            with scope:
                found, chosen = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                if scope.cancel_called:
                    return
                self._chosen = chosen.name if chosen is not None else None
                self._show(found, cluster, chosen)

        context.nursery.start_soon(load)

    def _show(self, found: Loaded, cluster: str, chosen: Objective | None) -> None:
        self._last = (found, cluster, chosen)
        tr = self.language.tr
        self.objective_model.set_rows(found.objectives)
        self.target_model.set_rows(found.targets)
        if not found.targets:  # objectives may apply, but nothing was measured here
            self.summary.setText(tr("slo.nothing", cluster=cluster))
        else:
            self.summary.setText(
                tr(
                    "slo.summary",
                    cluster=cluster,
                    objectives=len(found.objectives),
                    targets=len(found.targets),
                )
            )
        self._render_chart_title()
        self.chart.clear()
        if chosen is None:
            return
        for colour, series in zip(_LINES, found.burn, strict=False):
            label = i18n.format_duration(series.window, self.language.code)
            self.chart.plot(series.times, series.burn_rates, pen=pg.mkPen(colour, width=1.5),
                            name=label)  # fmt: skip
        factors = sorted({tier.factor for tier in TABLES[chosen.period]})
        for factor in factors:  # the thresholds the alerting uses
            line = pg.InfiniteLine(
                factor, angle=0, pen=pg.mkPen("#d64545", style=Qt.PenStyle.DashLine)
            )
            self.chart.addItem(line)
        if self.objective_view.selectionModel() is not None:
            for row in range(self.objective_model.rowCount()):
                if self.objective_model.row(row).objective.name == chosen.name:
                    proxy = self.objective_view.model()
                    index = proxy.mapFromSource(self.objective_model.index(row, 0))  # type: ignore[attr-defined]
                    self.objective_view.selectionModel().select(
                        index,
                        QItemSelectionModel.SelectionFlag.ClearAndSelect
                        | QItemSelectionModel.SelectionFlag.Rows,
                    )


def _burn(window: WindowStatus) -> float:
    return -1.0 if math.isnan(window.burn_rate) else window.burn_rate


def _attach(view: SloView, context: ViewContext) -> None:
    view.attach(context)


def _shown(view: SloView, context: ViewContext) -> None:
    view.shown()


def _follow(view: SloView, context: ViewContext) -> None:
    view._chosen, view._picked, view._last = None, False, None
    if view.isVisible():
        view.reload()


REGISTRY.add_view(
    ViewSpec("slo", "tab.slo", SloView, attach=_attach, cluster_changed=_follow, shown=_shown)
)
