"""The desktop's alerting: the tray tells about critical anomalies, the same rules send
mail, the Alerts tab shows rules, channels (with a test send), silences and deliveries,
and the settings file is edited, checked and applied without a restart."""

from __future__ import annotations

import socket
import stat
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from desktop.alert_settings_dialog import AlertSettingsDialog
from desktop.main_window import MainWindow
from desktop.silence_dialog import SilenceDialog
from headless_agent.detect.anomaly import Severity
from tests.alerts.receivers import SmtpServer
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def _settings(path: Path, smtp_port: int, extra: str = "") -> Path:
    path.write_text(
        f"""
[grouping]
group_wait = "1s"
group_interval = "2s"

[[channels]]
name = "desktop"
type = "desktop"

[[channels]]
name = "mail"
type = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
sender = "atlhyper@example.com"
to = ["oncall@example.com"]
{extra}
[[rules]]
name = "critical"
channels = ["desktop", "mail"]
severity = "critical"
"""
    )
    return path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe goes


def _select(view: QTableView, text: str) -> None:
    model = view.model()
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == text:
            view.selectionModel().select(
                model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            return
    raise AssertionError(f"no row {text!r}")


def _open_alerts(window: MainWindow, page: int) -> None:
    window.tabs.setCurrentWidget(window.alerts_view)
    window.alerts_view.pages.setCurrentIndex(page)


def test_critical_anomalies_reach_the_tray_and_the_mail_and_the_delivery_history(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    with SmtpServer() as smtp:
        settings = _settings(tmp_path / "alerts.toml", smtp.port)
        window = running_app(
            lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3", alerts=settings
        )

        def critical() -> int:
            model = window.anomaly_model
            anomalies = model.anomalies() if model is not None else []
            return sum(a.severity is Severity.CRITICAL for a in anomalies)

        qtbot.waitUntil(lambda: bool(window.tray.shown), timeout=30000)
        subject, body = window.tray.shown[0]
        assert "problem" in subject and body
        # No tray on the offscreen platform: the window's status bar says it instead.
        assert window.statusBar().currentMessage() == window.tray.shown[-1][0]
        qtbot.waitUntil(lambda: window.tray.critical == critical() > 0, timeout=5000)
        assert str(window.tray.critical) in window.tray.icon.toolTip()
        # The same rule sent the same notification by mail.
        qtbot.waitUntil(lambda: bool(smtp.mailbox.messages), timeout=15000)
        assert subject in {m["Subject"] for m in smtp.mailbox.messages}

        _open_alerts(window, 3)
        model = window.alerts_view.delivery_model

        def delivered_on() -> set[str]:
            rows = [model.row(r) for r in range(model.rowCount())]
            return {row.channel for row in rows if row.state == "delivered"}

        qtbot.waitUntil(lambda: delivered_on() == {"desktop", "mail"}, timeout=10000)
        states = {model.row(r).state: model.index(r, 2).data() for r in range(model.rowCount())}
        assert states["delivered"] == "Delivered"


def test_rules_channels_and_a_test_send_that_works_and_one_that_does_not(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    with SmtpServer() as smtp:
        hook = f'\n[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:{_closed_port()}/in"\n'
        settings = _settings(tmp_path / "alerts.toml", smtp.port, hook)
        window = running_app(
            lambda hub: hub.watch_demo(speed=1), history=tmp_path / "h.sqlite3", alerts=settings
        )
        view = window.alerts_view
        _open_alerts(window, 0)
        assert view.rule_model.rowCount() == 1
        assert view.rule_view.model().index(0, 5).data() == "desktop, mail"
        assert str(settings) in view.status.text()
        _open_alerts(window, 1)
        channels = view.channel_view.model()
        shown = {channels.index(r, 0).data(): channels.index(r, 3).data() for r in range(3)}
        assert shown["mail"] == f"oncall@example.com via 127.0.0.1:{smtp.port}"

        _select(view.channel_view, "mail")
        view.test_button.click()
        qtbot.waitUntil(lambda: "accepted" in view.test_result.text(), timeout=10000)
        [mail] = smtp.mailbox.messages
        assert "test notification" in mail.get_body(("plain",)).get_content()

        _select(view.channel_view, "hook")
        view.test_button.click()
        qtbot.waitUntil(lambda: "did not take" in view.test_result.text(), timeout=20000)
        assert "ConnectError" in view.test_result.text()


def test_a_silence_from_an_anomaly_is_kept_listed_and_expired(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    qtbot.waitUntil(lambda: window.anomaly_view.model().rowCount() > 0, timeout=10000)
    anomaly = window.anomaly_model.anomalies()[0]  # type: ignore[union-attr]
    window.silence_anomaly(anomaly)
    dialog = window.alerts_view.dialog
    assert isinstance(dialog, SilenceDialog)
    assert dialog.fields["reason"].text() == anomaly.key.reason
    assert dialog.fields["name"].text() == anomaly.key.name
    dialog.comment.setText("rolling out a fix")
    dialog.submit()

    model = window.alerts_view.silence_model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    silence = model.row(0)
    assert silence.reason == anomaly.key.reason and silence.expires_at > silence.created_at
    assert model.index(0, 5).data().startswith("Active")
    alerting = window.alerts_view.alerts.alerting  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: alerting.suppressed(anomaly, silence.created_at + 1), timeout=5000)

    _select(window.alerts_view.silence_view, model.index(0, 0).data())
    window.alerts_view.expire_button.click()
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.index(0, 5).data() == "Expired")
    qtbot.waitUntil(lambda: not alerting.suppressed(anomaly, time.time()))

    # A silence that matches everything is not made by accident.
    empty = window.alerts_view.open_silence_dialog()
    assert empty is not None
    empty.submit()
    assert empty.problem.isVisibleTo(empty) and "at least one" in empty.problem.text()


def test_the_settings_are_checked_saved_and_applied_without_a_restart(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    settings = tmp_path / "config" / "alerts.toml"
    window = running_app(
        lambda hub: hub.watch_demo(speed=1), history=tmp_path / "h.sqlite3", alerts=settings
    )
    view = window.alerts_view
    assert "No settings file yet" in view.status.text()
    assert view.rule_model.row(0).channels == ("desktop",)
    dialog = view.edit_settings()
    assert isinstance(dialog, AlertSettingsDialog)
    text = dialog.editor.toPlainText()
    assert 'type = "desktop"' in text

    # A password in clear and a rule naming no channel: both reported, nothing written.
    broken = text.replace(
        'type = "desktop"\n',
        'type = "desktop"\n\n[[channels]]\nname = "mail"\ntype = "smtp"\nhost = "h"\n'
        'sender = "a@b"\nto = ["c@d"]\npassword = "hunter2"\n',
    ).replace('channels = ["desktop"]', 'channels = ["desktop", "pager"]')
    dialog.editor.setPlainText(broken)
    dialog.save()
    problems = dialog.result.text()
    assert "Mistakes found: 2" in problems
    assert "never write the password here" in problems and "'pager'" in problems
    assert "hunter2" not in problems
    assert not settings.exists()

    dialog.editor.setPlainText(text.replace('severity = "critical"', 'severity = "warning"'))
    dialog.save()
    assert settings.exists() and stat.S_IMODE(settings.stat().st_mode) == 0o600
    alerting = view.alerts.alerting  # type: ignore[union-attr]
    assert alerting.config.rules[0].severity is Severity.WARNING
    assert view.rule_model.index(0, 1).data() == "warning"  # as the severity column reads
    assert str(settings) in view.status.text() and "No settings file" not in view.status.text()


def test_a_settings_file_with_mistakes_is_explained_and_the_built_in_rule_applies(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    settings = tmp_path / "alerts.toml"
    settings.write_text('[[rules]]\nname = "x"\nchannels = ["nowhere"]\n')
    window = running_app(
        lambda hub: hub.watch_demo(speed=1), history=tmp_path / "h.sqlite3", alerts=settings
    )
    status = window.alerts_view.status.text()
    assert "has mistakes (1)" in status and "line 3" in status and "'nowhere'" in status
    assert window.alerts_view.rule_model.row(0).channels == ("desktop",)
