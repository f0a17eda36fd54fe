"""The Alerts tab: the rules and channels in use (with a test send per channel), the
silences (create, expire) and the delivery history of every notification.

Silences and deliveries are read from the history file in a worker thread; a silence
created here is kept there, so a headless process sharing the file honours it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.alert_models import (
    ChannelTableModel,
    DeliveryTableModel,
    RuleTableModel,
    SilenceTableModel,
)
from desktop.alert_settings_dialog import AlertSettingsDialog
from desktop.alert_setup import DesktopAlerts
from desktop.language import Language
from desktop.silence_dialog import SilenceDialog
from desktop.table_view import sorting_proxy, table_view
from headless_agent.alerts.channels import DeliveryFailed
from headless_agent.store import OutboxAlert, Silence

#: expired silences stay listed this long
EXPIRED_SHOWN = 7 * 86400
DELIVERIES_SHOWN = 500
_OK = "color: #2e9e5b;"
_BAD = "color: #d64545;"


def _page(*widgets: QWidget, controls: list[QWidget] | None = None) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    if controls:
        row = QHBoxLayout()
        for control in controls:
            row.addWidget(control, 1 if isinstance(control, QLineEdit) else 0)
        row.addStretch(0)
        layout.addLayout(row)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QTableView) else 0)
    return page


def _selected_row(view: QTableView) -> int | None:
    rows = view.selectionModel().selectedRows() if view.selectionModel() else []
    if not rows:
        return None
    proxy = view.model()
    return int(proxy.mapToSource(rows[0]).row())  # type: ignore[attr-defined]


class AlertsView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.alerts: DesktopAlerts | None = None
        self._nursery: trio.Nursery | None = None
        self.dialog: AlertSettingsDialog | SilenceDialog | None = None

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setProperty("dynamic", True)  # the file's path and its problems
        self.edit_button = QPushButton()
        self.edit_button.clicked.connect(self.edit_settings)
        header = QHBoxLayout()
        header.addWidget(self.status, 1)
        header.addWidget(self.edit_button)

        self.rule_model = RuleTableModel(language, self)
        self.rule_view = table_view(sorting_proxy(self.rule_model, self), (140, 110, 200, 140, 140))
        self.channel_model = ChannelTableModel(language, self)
        self.channel_view = table_view(sorting_proxy(self.channel_model, self), (140, 120, 90))
        self.test_button = QPushButton()
        self.test_button.clicked.connect(self.send_test_selected)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setProperty("dynamic", True)  # a receiver's own words
        self.silence_model = SilenceTableModel(language, self)
        self.silence_view = table_view(
            sorting_proxy(self.silence_model, self), (260, 200, 90, 150, 150)
        )
        self.silence_view.sortByColumn(4, Qt.SortOrder.DescendingOrder)
        self.new_silence_button = QPushButton()
        self.new_silence_button.clicked.connect(lambda: self.open_silence_dialog())
        self.expire_button = QPushButton()
        self.expire_button.clicked.connect(self.expire_selected)
        self.delivery_model = DeliveryTableModel(language, self)
        self.delivery_filter = QLineEdit()
        self.delivery_view = table_view(
            sorting_proxy(self.delivery_model, self, self.delivery_filter),
            (170, 90, 90, 290, 70, 170),
        )
        self.delivery_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)

        self.pages = QTabWidget()
        self.pages.addTab(_page(self.rule_view), "")
        self.pages.addTab(
            _page(self.channel_view, self.test_result, controls=[self.test_button]), ""
        )
        self.pages.addTab(
            _page(self.silence_view, controls=[self.new_silence_button, self.expire_button]), ""
        )
        self.pages.addTab(_page(self.delivery_view, controls=[self.delivery_filter]), "")
        self.pages.currentChanged.connect(lambda _: self.reload())

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        for index, key in enumerate(("rules", "channels", "silences", "deliveries")):
            self.pages.setTabText(index, tr(f"alerts.page.{key}"))
        self.edit_button.setText(tr("alerts.edit"))
        self.test_button.setText(tr("alerts.send_test"))
        self.new_silence_button.setText(tr("silence.new"))
        self.expire_button.setText(tr("silence.expire"))
        self.delivery_filter.setPlaceholderText(tr("deliveries.filter"))
        self._show_status()

    def _show_status(self) -> None:
        tr = self.language.tr
        alerts = self.alerts
        if alerts is None:
            self.status.setText(tr("alerts.no_history"))
            self.status.setStyleSheet(_BAD)
            return
        if alerts.problems:
            lines = [tr("alerts.file_problems", path=str(alerts.path), count=len(alerts.problems))]
            self.status.setText("\n".join(lines + alerts.problems))
            self.status.setStyleSheet(_BAD)
        elif alerts.path.exists():
            self.status.setText(tr("alerts.file", path=str(alerts.path)))
            self.status.setStyleSheet("")
        else:
            self.status.setText(tr("alerts.built_in", path=str(alerts.path)))
            self.status.setStyleSheet("")

    # --- wiring ------------------------------------------------------------------------------

    def attach(self, alerts: DesktopAlerts | None, nursery: trio.Nursery) -> None:
        self.alerts, self._nursery = alerts, nursery
        for button in (
            self.edit_button,
            self.test_button,
            self.new_silence_button,
            self.expire_button,
        ):
            button.setEnabled(alerts is not None)
        self.show_settings()
        self.reload()

    def show_settings(self) -> None:
        """The rules and channels in use now."""
        config = self.alerts.alerting.config if self.alerts is not None else None
        self.rule_model.set_rows(list(config.rules) if config else [])
        self.channel_model.set_rows(list(config.channels.values()) if config else [])
        self._show_status()

    def _query(self, read: Callable[[], object], done: Callable[[object], None]) -> None:
        if self._nursery is None:
            return

        async def load() -> None:
            # A closed window abandons the query rather than filling a deleted model.
            done(await trio.to_thread.run_sync(read, abandon_on_cancel=True))

        self._nursery.start_soon(load)

    def reload(self) -> None:
        """Silences and deliveries, fresh from the history file."""
        if self.alerts is None:
            return
        store = self.alerts.alerting.store

        def read() -> tuple[list[Silence], list[OutboxAlert]]:
            store.flush(timeout=5)
            since = time.time() - EXPIRED_SHOWN
            silences = [s for s in store.silences() if s.expires_at >= since]
            return silences, store.alert_deliveries(DELIVERIES_SHOWN)

        def show(result: object) -> None:
            silences, deliveries = result  # type: ignore[misc]
            self.silence_model.set_rows(silences)
            self.delivery_model.set_rows(deliveries)

        self._query(read, show)

    # --- actions -----------------------------------------------------------------------------

    def edit_settings(self) -> AlertSettingsDialog | None:
        if self.alerts is None:
            return None
        dialog = AlertSettingsDialog(self.language, self.alerts, self)
        dialog.saved.connect(self.show_settings)
        self.dialog = dialog
        dialog.open()
        return dialog

    def send_test_selected(self) -> None:
        row = _selected_row(self.channel_view)
        if row is None:
            self.test_result.setText(self.language.tr("alerts.pick_channel"))
            self.test_result.setStyleSheet(_BAD)
            return
        self.send_test(self.channel_model.row(row).name)

    def send_test(self, channel: str) -> None:
        alerts, nursery = self.alerts, self._nursery
        if alerts is None or nursery is None:
            return
        tr = self.language.tr
        self.test_result.setText(tr("alerts.sending", channel=channel))
        self.test_result.setStyleSheet("")
        self.test_button.setEnabled(False)

        async def send() -> None:
            try:
                await alerts.alerting.send_test(channel)
            except DeliveryFailed as error:
                self.test_result.setText(tr("alerts.test_failed", channel=channel, error=error))
                self.test_result.setStyleSheet(_BAD)
            else:
                self.test_result.setText(tr("alerts.test_sent", channel=channel))
                self.test_result.setStyleSheet(_OK)
            finally:
                self.test_button.setEnabled(True)

        nursery.start_soon(send)

    def open_silence_dialog(self, **matchers: str) -> SilenceDialog | None:
        """A new silence; ``matchers`` (cluster, namespace, name, reason) fill the form."""
        if self.alerts is None:
            return None
        dialog = SilenceDialog(self.language, self, **matchers)
        dialog.created.connect(self.add_silence)
        self.dialog = dialog
        dialog.open()
        return dialog

    def add_silence(self, silence: Silence) -> None:
        if self.alerts is None or self._nursery is None:
            return
        alerting = self.alerts.alerting
        alerting.store.add_silence(silence)

        async def apply() -> None:
            await alerting.refresh_silences()  # honoured now, not at the next refresh
            self.reload()

        self._nursery.start_soon(apply)

    def expire_selected(self) -> None:
        row = _selected_row(self.silence_view)
        if row is None or self.alerts is None or self._nursery is None:
            return
        silence = self.silence_model.row(row)
        if silence.id is None or not self.silence_model.is_active(row):
            return
        alerting = self.alerts.alerting
        alerting.store.expire_silence(silence.id, time.time())

        async def apply() -> None:
            await alerting.refresh_silences()
            self.reload()

        self._nursery.start_soon(apply)
