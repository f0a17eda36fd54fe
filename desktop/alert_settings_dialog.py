"""Editing the alerting settings file: the same TOML headless mode reads, checked (every
mistake with its line) before it is saved, applied at once without a restart."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.alert_setup import DesktopAlerts
from desktop.language import Language
from headless_agent.alerts.config import AlertConfig, ConfigProblems
from headless_agent.alerts.settings_file import TEMPLATE, check_text, save_text


class AlertSettingsDialog(QDialog):
    saved = Signal()

    def __init__(
        self, language: Language, alerts: DesktopAlerts, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.alerts = alerts
        tr = language.tr
        self.setWindowTitle(tr("alerts.edit_title"))
        self.resize(760, 620)
        self.path_label = QLabel(tr("alerts.file", path=str(alerts.path)))
        self.path_label.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        path = alerts.path
        self.editor.setPlainText(path.read_text() if path.exists() else TEMPLATE)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setProperty("dynamic", True)  # the file's own mistakes
        self.buttons = QDialogButtonBox()
        self.check_button = self.buttons.addButton(
            tr("alerts.check"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_button = self.buttons.addButton(
            tr("alerts.save"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(tr("button.close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.check_button.clicked.connect(self.check)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.path_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)

    def check(self) -> AlertConfig | None:
        """The settings in the editor, or None with every mistake shown."""
        try:
            config = check_text(self.editor.toPlainText(), self.alerts.path.parent)
        except ConfigProblems as problems:
            lines = [self.language.tr("alerts.problems", count=len(problems.problems))]
            self.result.setText("\n".join(lines + problems.problems))
            self.result.setStyleSheet("color: #d64545;")
            return None
        self.result.setText(
            self.language.tr(
                "alerts.checked", rules=len(config.rules), channels=len(config.channels)
            )
        )
        self.result.setStyleSheet("color: #2e9e5b;")
        return config

    def save(self) -> None:
        config = self.check()
        if config is None:
            return  # nothing is written while the file has mistakes
        try:
            save_text(self.alerts.path, self.editor.toPlainText())
        except OSError as error:
            self.result.setText(self.language.tr("alerts.save_failed", error=str(error)))
            self.result.setStyleSheet("color: #d64545;")
            return
        self.alerts.alerting.reconfigure(config)
        self.alerts.problems = []
        self.saved.emit()
        self.accept()
