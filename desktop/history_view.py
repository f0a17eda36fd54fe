"""The History tab: what went wrong in a cluster over a chosen range, from the history file.

Anomaly episodes (with how each began, changed and ended, including across app restarts)
above the cluster's Warning events, searchable. Queries run in a worker thread; a newer
query cancels the one in flight, so typing in the search field never queues work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import trio
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.history_models import EpisodeTableModel, EventTableModel
from desktop.language import Language
from desktop.table_view import sorting_proxy, table_view
from headless_agent.store import AnomalyEpisode, HistoryStore, StoredEvent, UnknownCluster

#: the ranges offered, in seconds, with their catalog keys
RANGES = (
    (3600, "history.range.hour"),
    (6 * 3600, "history.range.hours6"),
    (86400, "history.range.day"),
    (7 * 86400, "history.range.week"),
    (30 * 86400, "history.range.days30"),
)
DEFAULT_RANGE = 2  # the last 24 hours
SEARCH_DELAY_MS = 250
EVENT_LIMIT = 500


class HistoryView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._store: HistoryStore | None = None
        self._problem: str | None = None
        self._nursery: trio.Nursery | None = None
        self._cluster: str | None = None
        self._loading: trio.CancelScope | None = None
        self._loaded_once = False

        self.range_box = QComboBox()
        for seconds, _ in RANGES:
            self.range_box.addItem("", seconds)
        self.range_box.setCurrentIndex(DEFAULT_RANGE)
        self.range_box.currentIndexChanged.connect(self.reload)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(self._search_timer.start)
        # Filters by kind and reason, filled from what the range holds; the namespace
        # comes from the window's namespace box.
        self.kind_box = QComboBox()
        self.reason_box = QComboBox()
        for box in (self.kind_box, self.reason_box):
            box.addItem("", "")
            box.setProperty("dynamic", True)  # kinds and reasons are data
            box.currentIndexChanged.connect(self.reload)
        self._namespace = ""
        self.summary = QLabel()
        self.summary.setProperty("dynamic", True)  # counts and the file's path
        self.summary.setWordWrap(True)

        self.episode_model = EpisodeTableModel(language, self)
        self.episode_view = table_view(
            sorting_proxy(self.episode_model, self), (70, 160, 160, 80, 230, 140)
        )
        self.episode_view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.event_model = EventTableModel(language, self)
        self.event_view = table_view(sorting_proxy(self.event_model, self), (160, 300, 140, 60))
        self.event_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.episodes_title = QLabel()
        self.events_title = QLabel()

        controls = QHBoxLayout()
        controls.addWidget(self.range_box)
        controls.addWidget(self.kind_box)
        controls.addWidget(self.reason_box)
        controls.addWidget(self.search, 1)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.episodes_title)
        upper_layout.addWidget(self.episode_view)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.events_title)
        lower_layout.addWidget(self.event_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

        language.changed.connect(self.retranslate)
        self.retranslate()

    # --- wiring ----------------------------------------------------------------------------

    def attach(
        self, store: HistoryStore | None, nursery: trio.Nursery, problem: str | None
    ) -> None:
        """Read from ``store`` (None: history is off, ``problem`` says why)."""
        self._store, self._nursery, self._problem = store, nursery, problem
        self.reload()

    def show_cluster(self, name: str | None) -> None:
        if name != self._cluster:
            self._cluster = name
            self.episode_model.set_rows([])
            self.event_model.set_rows([])
            self.reload()

    @property
    def range_seconds(self) -> int:
        return int(self.range_box.currentData())

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        for index, (_, key) in enumerate(RANGES):
            self.range_box.setItemText(index, tr(key))
        self.search.setPlaceholderText(tr("history.search"))
        self.kind_box.setItemText(0, tr("history.all_kinds"))
        self.reason_box.setItemText(0, tr("history.all_reasons"))
        self.episodes_title.setText(tr("history.episodes"))
        self.events_title.setText(tr("history.events"))
        self._render_summary()

    def _render_summary(self) -> None:
        tr = self.language.tr
        if self._problem is not None:
            self.summary.setText(tr("history.off", reason=self._problem))
        elif self._store is None or self._cluster is None:
            self.summary.setText("")
        elif not self._loaded_once:
            self.summary.setText(tr("history.loading"))
        elif not self.episode_model.rowCount() and not self.event_model.rowCount():
            self.summary.setText(tr("history.nothing", range=self.range_box.currentText()))
        else:
            self.summary.setText(
                tr(
                    "history.summary",
                    episodes=self.episode_model.rowCount(),
                    open=sum(
                        self.episode_model.row(i).is_open
                        for i in range(self.episode_model.rowCount())
                    ),
                    events=self.event_model.rowCount(),
                    range=self.range_box.currentText(),
                )
            )

    # --- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Query again (range, search or cluster changed, or new anomalies were recorded)."""
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        store, cluster, nursery = self._store, self._cluster, self._nursery
        if store is None or cluster is None or nursery is None:
            self._render_summary()
            return
        end = time.time()
        start = end - self.range_seconds
        text = self.search.text().strip() or None
        kind, reason = self.kind_box.currentData() or "", self.reason_box.currentData() or ""
        namespace = self._namespace
        scope = self._loading = trio.CancelScope()

        def query() -> Found:
            store.flush(timeout=5)  # what the engine recorded a moment ago belongs here
            try:
                episodes = store.anomaly_timeline(cluster, start, end)
                events = store.search_events(cluster, text=text, since=start, limit=EVENT_LIMIT)
            except UnknownCluster:
                return Found([], [], [], [])  # nothing recorded for it yet
            if text:
                needle = text.casefold()
                episodes = [e for e in episodes if needle in _episode_haystack(e)]
            kinds = sorted({e.kind for e in episodes} | {e.object_kind for e in events})
            reasons = sorted({e.reason for e in episodes} | {e.reason for e in events})
            episodes = [
                e
                for e in episodes
                if (not kind or e.kind == kind)
                and (not reason or e.reason == reason)
                and (not namespace or e.namespace == namespace)
            ]
            events = [
                e
                for e in events
                if (not kind or e.object_kind == kind)
                and (not reason or e.reason == reason)
                and (not namespace or e.object_namespace == namespace)
            ]
            return Found(episodes, events, kinds, reasons)

        nursery.start_soon(self._load, scope, query)

    def set_namespace(self, namespace: str) -> None:
        """The window's namespace box: only this namespace ("" for all)."""
        if namespace != self._namespace:
            self._namespace = namespace
            self.reload()

    def _offer(self, box: QComboBox, values: list[str]) -> None:
        """The values the range holds, the chosen one kept (even if gone from it)."""
        chosen = box.currentData() or ""
        box.blockSignals(True)
        while box.count() > 1:
            box.removeItem(1)
        for value in sorted({*values, chosen} - {""}):
            box.addItem(value, value)
        box.setCurrentIndex(max(0, box.findData(chosen)))
        box.blockSignals(False)

    async def _load(self, scope: trio.CancelScope, query: Callable[[], Found]) -> None:
        with scope:
            # abandon_on_cancel: a superseded query's answer is simply dropped.
            found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
            if scope.cancel_called:
                return
            self.episode_model.set_rows(found.episodes)
            self.event_model.set_rows(found.events)
            self._offer(self.kind_box, found.kinds)
            self._offer(self.reason_box, found.reasons)
            self._loaded_once = True
            self._render_summary()
        if self._loading is scope:
            self._loading = None


class Found(NamedTuple):
    episodes: list[AnomalyEpisode]
    events: list[StoredEvent]
    #: the kinds and reasons in the range (before the kind and reason filters)
    kinds: list[str]
    reasons: list[str]


def _episode_haystack(episode: AnomalyEpisode) -> str:
    return " ".join(
        (episode.kind, episode.namespace, episode.name, episode.reason, episode.message)
    ).casefold()
