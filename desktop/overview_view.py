"""The Overview tab: one cluster — or every cluster together — at a glance.

Cards show each cluster's connection health, nodes and pods counted by state, the open
anomalies by severity (the worst ones listed; a click opens them in the Anomalies tab),
CPU and memory over the last hour, the recent Warning events and the alerts sent, and
the SLO status.

Counting stays cheap with 30,000 pods: a follower per cluster only notes that its nodes
or pods changed; at most every ``COUNT_INTERVAL`` seconds, and only while the tab is in
view, the changed clusters' states are counted in one pass. What comes from the history
file (usage, events, alerts) is read in a worker thread every ``STORE_REFRESH_SECONDS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import trio
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.extensions import ViewContext
from desktop.language import Language
from desktop.overview_models import (
    AMBER,
    GREEN,
    GREY,
    NODE_STATES,
    POD_STATES,
    RED,
    USAGE_SERIES,
    ClusterCounts,
    RecentAlertModel,
    RecentEventModel,
    TopAnomalyModel,
    Usage,
    alert_clusters,
    anomalies_by_severity,
    count_state,
    top_anomalies,
    usage_of,
)
from headless_agent import i18n
from headless_agent.detect.anomaly import Anomaly, Severity
from headless_agent.hub import ClusterHandle
from headless_agent.kube.health import ConnectionState
from headless_agent.store import (
    HistoryStore,
    OutboxAlert,
    SeriesSelector,
    StoredEvent,
    UnknownCluster,
)

#: counts are redone at most this often (seconds), and only for clusters that changed
COUNT_INTERVAL = 2.0
#: a follower lets changes pile up this long before it looks at them again
FOLLOW_PAUSE = 0.5
USAGE_RANGE = 3600.0
USAGE_BUCKETS = 60
TOP_ANOMALIES = 5
EVENTS_SHOWN = 8
ALERTS_SHOWN = 6
DELIVERIES_READ = 200
#: the cards, by the key of their title (``overview.card.<key>``)
CARDS = ("clusters", "slos", "nodes", "pods", "anomalies", "usage", "events", "alerts")

_STATE_COLOURS = {
    ConnectionState.SYNCED: GREEN,
    ConnectionState.CONNECTING: GREY,
    ConnectionState.DEGRADED: AMBER,
    ConnectionState.OFFLINE: RED,
}
#: the colour of a count when it is not zero (None: the palette's text colour)
_NODE_COLOURS = {"ready": GREEN, "not_ready": RED, "unknown": AMBER, "cordoned": AMBER}
_POD_COLOURS = {
    "running": GREEN,
    "pending": AMBER,
    "succeeded": None,
    "failed": RED,
    "crash_loop": RED,
    "image_pull": RED,
    "terminating": AMBER,
    "unknown": AMBER,
}
_SEVERITY_COLOURS = {Severity.CRITICAL: RED, Severity.WARNING: AMBER}


@dataclass(frozen=True)
class StoreView:
    """What the history file says about the clusters shown."""

    usage: Usage
    events: list[StoredEvent]
    alerts: list[OutboxAlert]


# --- building blocks ---------------------------------------------------------------------------


def _dynamic(label: QLabel) -> QLabel:
    label.setProperty("dynamic", True)  # data, not a catalog text
    return label


class Card(QFrame):
    """A titled panel drawn with the palette's Base colour, so it reads in both themes."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("overviewCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.aside = _dynamic(QLabel())
        self.aside.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.aside)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(12, 10, 12, 10)
        self.body.setSpacing(6)
        self.body.addLayout(header)


class Stat(QWidget):
    """A count in large type above what it counts."""

    def __init__(self, colour: str | None = None) -> None:
        super().__init__()
        self.colour = colour
        self.value = _dynamic(QLabel("—"))
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(font)
        self.caption = QLabel()
        self.caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def show_count(self, count: int, language: str) -> None:
        self.value.setText(i18n.format_number(count, language))
        coloured = self.colour is not None and count > 0
        self.value.setStyleSheet(f"color: {self.colour};" if coloured else "")


def _stat_grid(stats: list[Stat], columns: int) -> QGridLayout:
    grid = QGridLayout()
    grid.setHorizontalSpacing(18)
    grid.setVerticalSpacing(8)
    for index, stat in enumerate(stats):
        grid.addWidget(stat, index // columns, index % columns)
    for column in range(columns):
        grid.setColumnStretch(column, 1)
    return grid


def _card_table(model: TopAnomalyModel | RecentEventModel | RecentAlertModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setFrameShape(QFrame.Shape.NoFrame)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setHighlightSections(False)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view


class Sparkline(pg.PlotWidget):  # type: ignore[misc]
    """The last hour as a filled line, no axes: the card's background shows through."""

    def __init__(self, colour: str) -> None:
        super().__init__()
        self.colour = colour
        self.setBackground(None)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setYRange(0, 100, padding=0.05)
        self.setFixedHeight(56)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.getPlotItem().setContentsMargins(0, 0, 0, 0)
        self.curve = self.plot(
            [], [], pen=pg.mkPen(colour, width=1.5), fillLevel=0, brush=pg.mkBrush(colour + "40")
        )

    def show_values(self, times: np.ndarray, values: np.ndarray) -> None:
        keep = np.isfinite(values)
        self.curve.setData(times[keep], values[keep])
        if keep.any():
            self.setXRange(float(times[0]), float(times[-1]), padding=0)
            # The trend, not the scale: a band around the values, within 0–100 %.
            low, high = float(values[keep].min()), float(values[keep].max())
            margin = max(5.0, (high - low) * 0.25)
            self.setYRange(max(0.0, low - margin), min(100.0, high + margin), padding=0)


class _ClusterRow:
    """One cluster in the health card: a dot, its name, its state and its last error."""

    def __init__(self, grid: QGridLayout, row: int) -> None:
        self.dot = _dynamic(QLabel("●"))
        self.name = _dynamic(QLabel())
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.state = _dynamic(QLabel())
        self.summary = _dynamic(QLabel())
        self.error = _dynamic(QLabel())
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {RED};")
        self.error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.widgets = (self.dot, self.name, self.state, self.summary, self.error)
        for column, widget in enumerate(self.widgets):
            grid.addWidget(widget, row, column)

    def set_visible(self, visible: bool) -> None:
        for widget in self.widgets:
            widget.setVisible(visible)


# --- the view ----------------------------------------------------------------------------------


class OverviewView(QWidget):
    #: the history file is read again this often while the tab is in view (seconds)
    STORE_REFRESH_SECONDS = 10.0

    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.context: ViewContext | None = None
        #: the latest counts of each cluster, and the clusters whose state changed since
        self.counts: dict[str, ClusterCounts] = {}
        self._stale: set[str] = set()
        self._followers: dict[str, trio.CancelScope] = {}
        self._loading: trio.CancelScope | None = None
        self._last_store_read = 0.0
        #: how many times a cluster's state was counted (what the tests watch)
        self.counts_made = 0
        self.anomalies: list[Anomaly] = []
        self.store_view: StoreView | None = None

        self.heading = _dynamic(QLabel())
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.heading.setFont(font)
        self.all_box = QCheckBox()
        self.all_box.toggled.connect(lambda _: self.refresh_now())
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.all_box)

        # Connection health: one row per cluster shown.
        self.clusters_card = Card()
        self.cluster_grid = QGridLayout()
        self.cluster_grid.setHorizontalSpacing(12)
        self.cluster_grid.setVerticalSpacing(4)
        self.cluster_grid.setColumnStretch(4, 1)
        self.clusters_card.body.addLayout(self.cluster_grid)
        self._cluster_rows: list[_ClusterRow] = []

        # SLO status: the SLO engine's view fills this card once it is wired in.
        self.slos_card = Card()
        self.slo_text = QLabel()
        self.slo_text.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.slo_text.setWordWrap(True)
        self.slos_card.body.addWidget(self.slo_text)
        self.slos_card.body.addStretch(1)

        self.nodes_card = Card()
        self.node_stats = {state: Stat(_NODE_COLOURS[state]) for state in NODE_STATES}
        self.nodes_card.body.addLayout(_stat_grid(list(self.node_stats.values()), 2))
        self.nodes_card.body.addStretch(1)

        self.pods_card = Card()
        self.pod_stats = {state: Stat(_POD_COLOURS[state]) for state in POD_STATES}
        self.pods_card.body.addLayout(_stat_grid(list(self.pod_stats.values()), 4))
        self.pods_card.body.addStretch(1)

        self.anomalies_card = Card()
        self.severity_stats = {s: Stat(_SEVERITY_COLOURS[s]) for s in reversed(Severity)}
        severity_row = QHBoxLayout()
        for stat in self.severity_stats.values():
            severity_row.addWidget(stat)
        severity_row.addStretch(1)
        self.top_model = TopAnomalyModel(language, self)
        self.top_view = _card_table(self.top_model)
        self.top_view.setCursor(Qt.CursorShape.PointingHandCursor)
        self.top_view.clicked.connect(self._anomaly_clicked)
        self.top_view.setFixedHeight(22 * TOP_ANOMALIES + 26)
        for column, width in enumerate((70, 120, 230)):
            self.top_view.setColumnWidth(column, width)
        self.no_anomalies = QLabel()
        self.no_anomalies.setStyleSheet(f"color: {GREEN};")
        self.anomalies_card.body.addLayout(severity_row)
        self.anomalies_card.body.addWidget(self.top_view)
        self.anomalies_card.body.addWidget(self.no_anomalies)
        self.anomalies_card.body.addStretch(1)

        self.usage_card = Card()
        self.cpu_title, self.cpu_value = QLabel(), _dynamic(QLabel("—"))
        self.memory_title, self.memory_value = QLabel(), _dynamic(QLabel("—"))
        self.cpu_line, self.memory_line = Sparkline("#3b82f6"), Sparkline("#a855f7")
        self.no_usage = QLabel()
        self.no_usage.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.no_usage.setWordWrap(True)
        for title, value, line in (
            (self.cpu_title, self.cpu_value, self.cpu_line),
            (self.memory_title, self.memory_value, self.memory_line),
        ):
            font = value.font()
            font.setWeight(QFont.Weight.DemiBold)
            font.setPointSizeF(font.pointSizeF() * 1.25)
            value.setFont(font)
            row = QHBoxLayout()
            row.addWidget(title)
            row.addStretch(1)
            row.addWidget(value)
            self.usage_card.body.addLayout(row)
            self.usage_card.body.addWidget(line)
        self.usage_card.body.addWidget(self.no_usage)
        self.usage_card.body.addStretch(1)

        self.events_card = Card()
        self.event_model = RecentEventModel(language, self)
        self.event_view = _card_table(self.event_model)
        self.event_view.setFixedHeight(22 * EVENTS_SHOWN + 26)
        for column, width in enumerate((70, 120, 230, 110)):
            self.event_view.setColumnWidth(column, width)
        self.no_events = QLabel()
        self.no_events.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.events_card.body.addWidget(self.event_view)
        self.events_card.body.addWidget(self.no_events)
        self.events_card.body.addStretch(1)

        self.alerts_card = Card()
        self.alert_model = RecentAlertModel(language, self)
        self.alert_view = _card_table(self.alert_model)
        self.alert_view.setFixedHeight(22 * EVENTS_SHOWN + 26)
        # A narrow card: the subject takes what the time, channel and status leave.
        alert_header = self.alert_view.horizontalHeader()
        alert_header.setStretchLastSection(False)
        for column in range(len(RecentAlertModel.columns)):
            alert_header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        alert_header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.no_alerts = QLabel()
        self.no_alerts.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.no_alerts.setWordWrap(True)
        self.alerts_card.body.addWidget(self.alert_view)
        self.alerts_card.body.addWidget(self.no_alerts)
        self.alerts_card.body.addStretch(1)

        grid = QGridLayout()
        grid.setSpacing(10)
        grid.addWidget(self.clusters_card, 0, 0, 1, 2)
        grid.addWidget(self.slos_card, 0, 2)
        grid.addWidget(self.nodes_card, 1, 0)
        grid.addWidget(self.pods_card, 1, 1, 1, 2)
        grid.addWidget(self.anomalies_card, 2, 0, 1, 2)
        grid.addWidget(self.usage_card, 2, 2)
        grid.addWidget(self.events_card, 3, 0, 1, 2)
        grid.addWidget(self.alerts_card, 3, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(4, 4, 4, 4)
        content_layout.addLayout(top)
        content_layout.addLayout(grid)
        content_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        language.changed.connect(self.retranslate)
        self.retranslate()

    # --- texts -------------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        self.all_box.setText(tr("overview.all_clusters"))
        self.all_box.setToolTip(tr("overview.all_clusters_hint"))
        for key in CARDS:
            card: Card = getattr(self, f"{key}_card")
            card.title.setText(tr(f"overview.card.{key}"))
        for state, stat in self.node_stats.items():
            stat.caption.setText(tr(f"overview.node.{state}"))
        for state, stat in self.pod_stats.items():
            stat.caption.setText(tr(f"overview.pod.{state}"))
        for severity, stat in self.severity_stats.items():
            stat.caption.setText(tr(f"severity.{severity.label}"))
        self.slo_text.setText(tr("overview.no_slos"))
        self.cpu_title.setText(tr("overview.cpu"))
        self.memory_title.setText(tr("overview.memory"))
        self.no_usage.setText(tr("overview.no_usage"))
        self.no_anomalies.setText(tr("overview.no_anomalies"))
        self.no_events.setText(tr("overview.no_events"))
        self.no_alerts.setText(tr("overview.no_alerts"))
        self._render()

    # --- what is shown -----------------------------------------------------------------------

    @property
    def all_clusters(self) -> bool:
        """Every cluster together: chosen here, or no single cluster is selected."""
        context = self.context
        if context is None:
            return self.all_box.isChecked()
        return self.all_box.isChecked() or context.cluster not in context.hub.clusters

    def shown_clusters(self) -> list[ClusterHandle]:
        context = self.context
        if context is None:
            return []
        if self.all_clusters:
            return list(context.hub.clusters.values())
        return [context.hub.clusters[context.cluster]] if context.cluster else []

    def total(self) -> ClusterCounts:
        """The counts of the clusters shown, summed."""
        return ClusterCounts.total(
            self.counts[h.name] for h in self.shown_clusters() if h.name in self.counts
        )

    # --- wiring ------------------------------------------------------------------------------

    def attach(self, context: ViewContext) -> None:
        self.context = context
        context.nursery.start_soon(self._tick_forever)
        self._follow_clusters()
        self.refresh_now()

    def cluster_changed(self) -> None:
        self.event_model.set_rows([])
        self.alert_model.set_rows([])
        self.store_view = None
        if self.isVisible():
            self.refresh_now()
        else:
            self._render()

    def anomalies_changed(self) -> None:
        if self.context is None:
            return
        self.anomalies = self.context.hub.open_anomalies()
        if self.isVisible():
            self._render()

    def refresh_now(self) -> None:
        """Everything again: counts of changed clusters, anomalies, and the history."""
        if self.context is None:
            self._render()
            return
        self._follow_clusters()
        self._count_stale()
        self.anomalies = self.context.hub.open_anomalies()
        self._render()
        self.read_store()

    async def _tick_forever(self) -> None:
        while True:
            await trio.sleep(COUNT_INTERVAL)
            if not self.isVisible():
                continue
            self._follow_clusters()
            self._count_stale()
            self._render()
            if time.monotonic() - self._last_store_read >= self.STORE_REFRESH_SECONDS:
                self.read_store()

    # --- counting ----------------------------------------------------------------------------

    def _follow_clusters(self) -> None:
        """A follower for each watched cluster; those no longer watched are stopped."""
        context = self.context
        if context is None:
            return
        for name in list(self._followers):
            if name not in context.hub.clusters:
                self._followers.pop(name).cancel()
                self.counts.pop(name, None)
                self._stale.discard(name)
        for name, handle in context.hub.clusters.items():
            if name not in self._followers:
                scope = self._followers[name] = trio.CancelScope()
                self._stale.add(name)
                context.nursery.start_soon(self._follow, handle, scope)

    async def _follow(self, handle: ClusterHandle, scope: trio.CancelScope) -> None:
        """Note that the cluster's nodes or pods changed; never count here."""
        with scope:
            subscription = handle.state.subscribe()
            self._stale.add(handle.name)  # whatever came before the subscription
            try:
                async for batch in subscription:
                    if any(change.kind in ("Pod", "Node") for change in batch):
                        self._stale.add(handle.name)
                    # Meanwhile the subscription coalesces changes per object.
                    await trio.sleep(FOLLOW_PAUSE)
            finally:
                subscription.close()

    def _count_stale(self) -> None:
        for handle in self.shown_clusters():
            if handle.name in self._stale or handle.name not in self.counts:
                self._stale.discard(handle.name)
                self.counts[handle.name] = count_state(handle.state)
                self.counts_made += 1

    # --- the history file --------------------------------------------------------------------

    def read_store(self) -> None:
        """Usage, recent Warning events and alerts of the clusters shown, in a worker."""
        context = self.context
        store = context.hub.history if context is not None else None
        if context is None or store is None:
            return
        if self._loading is not None:
            self._loading.cancel()
        self._last_store_read = time.monotonic()
        names = [h.name for h in self.shown_clusters()]
        every = self.all_clusters
        scope = self._loading = trio.CancelScope()

        def query() -> StoreView:
            return _read_store(store, names, every, time.time())

        async def load() -> None:
            with scope:
                found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                if scope.cancel_called:
                    return
                self.store_view = found
                self.event_model.set_rows(found.events)
                self.alert_model.set_rows(found.alerts)
                self._render()
            if self._loading is scope:
                self._loading = None

        context.nursery.start_soon(load)

    # --- rendering ---------------------------------------------------------------------------

    def _render(self) -> None:
        tr = self.language.tr
        code = self.language.code
        handles = self.shown_clusters()
        if self.context is None:
            self.heading.setText("")
        elif self.all_clusters:
            self.heading.setText(tr("overview.heading_all", count=len(handles)))
        else:
            self.heading.setText(handles[0].name if handles else "")
        self._render_clusters(handles)
        total = self.total()
        for state, stat in self.node_stats.items():
            stat.show_count(total.nodes[state], code)
        for state, stat in self.pod_stats.items():
            stat.show_count(total.pods[state], code)
        self.nodes_card.aside.setText(tr("overview.total", count=total.node_total))
        self.pods_card.aside.setText(tr("overview.total", count=total.pod_total))
        self._render_anomalies({h.name for h in handles})
        self._render_store()

    def _render_clusters(self, handles: list[ClusterHandle]) -> None:
        tr = self.language.tr
        code = self.language.code
        while len(self._cluster_rows) < len(handles):
            self._cluster_rows.append(_ClusterRow(self.cluster_grid, len(self._cluster_rows)))
        open_by_cluster: dict[str, int] = {}
        for anomaly in self.anomalies:
            open_by_cluster[anomaly.key.cluster] = open_by_cluster.get(anomaly.key.cluster, 0) + 1
        now = time.time()
        for row, handle in zip(self._cluster_rows, handles, strict=False):
            snapshot = handle.health.snapshot
            colour = _STATE_COLOURS[snapshot.state]
            row.dot.setStyleSheet(f"color: {colour};")
            row.name.setText(handle.name)
            row.state.setText(
                tr(
                    "overview.state_for",
                    state=tr(f"state.{snapshot.state.value}"),
                    duration=self.language.duration(max(0.0, now - snapshot.since)),
                )
            )
            row.state.setStyleSheet(f"color: {colour};")
            counts = self.counts.get(handle.name)
            row.summary.setText(
                tr(
                    "overview.cluster_summary",
                    nodes=i18n.format_number(counts.node_total if counts else 0, code),
                    pods=i18n.format_number(counts.pod_total if counts else 0, code),
                    anomalies=i18n.format_number(open_by_cluster.get(handle.name, 0), code),
                )
            )
            error = snapshot.error_text(code)
            row.error.setText(tr("status.last_error", error=error) if error else "")
            row.error.setToolTip(error or "")
            row.set_visible(True)
        for row in self._cluster_rows[len(handles) :]:
            row.set_visible(False)
        self.clusters_card.aside.setText(
            tr(
                "overview.synced_of",
                synced=sum(h.health.snapshot.state is ConnectionState.SYNCED for h in handles),
                total=len(handles),
            )
            if handles
            else ""
        )

    def _render_anomalies(self, names: set[str]) -> None:
        code = self.language.code
        shown = [a for a in self.anomalies if a.key.cluster in names]
        for severity, count in anomalies_by_severity(shown).items():
            self.severity_stats[severity].show_count(count, code)
        self.top_model.set_rows(top_anomalies(shown, TOP_ANOMALIES))
        self.top_view.setColumnHidden(1, not self.all_clusters)
        self.top_view.setVisible(bool(shown))
        self.no_anomalies.setVisible(not shown and self.context is not None)
        self.anomalies_card.aside.setText(
            self.language.tr("overview.total", count=len(shown)) if shown else ""
        )

    def _render_store(self) -> None:
        tr = self.language.tr
        code = self.language.code
        found = self.store_view
        usage = found.usage if found is not None else Usage.empty()
        for value, line, now, curve in (
            (self.cpu_value, self.cpu_line, usage.cpu_now, usage.cpu),
            (self.memory_value, self.memory_line, usage.memory_now, usage.memory),
        ):
            value.setText(
                tr("overview.percent", value=i18n.format_number(round(now, 1), code))
                if now is not None
                else "—"
            )
            line.show_values(usage.times, curve)
        has_usage = bool(usage.nodes)
        self.no_usage.setVisible(found is not None and not has_usage)
        self.usage_card.aside.setText(
            tr("overview.usage_nodes", count=usage.nodes) if has_usage else ""
        )
        self.event_view.setColumnHidden(1, not self.all_clusters)
        self.event_view.setVisible(self.event_model.rowCount() > 0)
        self.no_events.setVisible(found is not None and not self.event_model.rowCount())
        self.alert_view.setVisible(self.alert_model.rowCount() > 0)
        self.no_alerts.setVisible(found is not None and not self.alert_model.rowCount())

    def set_dark(self, dark: bool) -> None:
        """The sparklines have no background of their own; nothing else draws itself."""
        for line in (self.cpu_line, self.memory_line):
            line.setBackground(None)

    # --- actions -----------------------------------------------------------------------------

    def _anomaly_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_anomaly(self.top_model.row(index.row()))

    def open_anomaly(self, anomaly: Anomaly) -> None:
        """Show it in the Anomalies tab, its row selected."""
        if self.context is None:
            return
        window = self.context.window
        window.tabs.setCurrentWidget(window.anomaly_view)
        model = window.anomaly_model
        if model is None:
            return
        for row, shown in enumerate(model.anomalies()):
            if shown.key == anomaly.key:
                window.anomaly_view.selectionModel().select(
                    model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                window.anomaly_view.scrollTo(model.index(row, 0))
                break


def _read_store(store: HistoryStore, names: list[str], every: bool, now: float) -> StoreView:
    """Runs in a worker thread: the store's reads for the clusters ``names``."""
    store.flush(timeout=5)  # what the engine recorded a moment ago belongs here
    start = now - USAGE_RANGE
    found = []
    for name in names:
        try:
            found += store.query_series(
                SeriesSelector(name, None, USAGE_SERIES), start, now, max_points=USAGE_BUCKETS * 2
            )
        except UnknownCluster:
            continue  # nothing recorded for it yet
    usage = usage_of(found, start, now, USAGE_BUCKETS, now)
    events: list[StoredEvent] = []
    if every:
        wanted = set(names)
        events = [
            e
            for e in store.search_events(None, since=start, limit=EVENTS_SHOWN * 20)
            if e.cluster in wanted
        ][:EVENTS_SHOWN]
    elif names:
        try:
            events = store.search_events(names[0], since=start, limit=EVENTS_SHOWN)
        except UnknownCluster:
            events = []
    deliveries = store.alert_deliveries(DELIVERIES_READ)
    if not every:
        deliveries = [d for d in deliveries if alert_clusters(d.payload) & set(names)]
    return StoreView(usage, events, deliveries[:ALERTS_SHOWN])
