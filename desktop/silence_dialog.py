"""Creating a silence: what it matches (filled from an anomaly when opened from one), how
long it holds, and why."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from headless_agent.ops.runner import local_user
from headless_agent.store import Silence

#: the lengths offered; a silence always ends
DURATIONS = (1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 86400, 7 * 86400)
DEFAULT_DURATION = 2
MATCHERS = ("cluster", "namespace", "name", "reason")


class SilenceDialog(QDialog):
    #: the silence the user asked for
    created = Signal(object)

    def __init__(
        self,
        language: Language,
        parent: QWidget | None = None,
        *,
        cluster: str = "",
        namespace: str = "",
        name: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(parent)
        self.language = language
        tr = language.tr
        self.setWindowTitle(tr("silence.title"))
        self.fields = {key: QLineEdit() for key in MATCHERS}
        for key, value in zip(MATCHERS, (cluster, namespace, name, reason), strict=True):
            self.fields[key].setText(value)
            self.fields[key].setPlaceholderText(tr("alerts.any"))
        self.duration = QComboBox()
        for seconds in DURATIONS:
            self.duration.addItem(language.duration(seconds), seconds)
        self.duration.setCurrentIndex(DEFAULT_DURATION)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText(tr("silence.comment_hint"))
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d64545;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        form = QFormLayout()
        for key in MATCHERS:
            form.addRow(tr(f"silence.field.{key}"), self.fields[key])
        form.addRow(tr("silence.field.duration"), self.duration)
        form.addRow(tr("silence.field.comment"), self.comment)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("silence.create"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("button.cancel"))
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.intro = QLabel(tr("silence.intro"))
        self.intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def silence(self, now: float | None = None) -> Silence | None:
        """The silence the form describes, or None (and the reason shown) if it is not one."""
        values = {key: field.text().strip() for key, field in self.fields.items()}
        if not any(values.values()):
            # An empty silence would quiet everything, every cluster: not by accident.
            self.problem.setText(self.language.tr("silence.needs_matcher"))
            self.problem.show()
            return None
        start = time.time() if now is None else now
        return Silence(
            start,
            start + float(self.duration.currentData()),
            created_by=local_user(),
            comment=self.comment.text().strip(),
            **values,
        )

    def submit(self) -> None:
        silence = self.silence()
        if silence is not None:
            self.created.emit(silence)
            self.accept()
