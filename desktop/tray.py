"""The tray icon: the count of open critical anomalies at a glance, and desktop
notifications (the ``desktop`` alert channel).

Where the platform has no tray (some desktops; the offscreen platform), notifications are
shown in the window's status bar instead, so none is lost silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

from desktop.language import Language
from headless_agent.alerts.channels import render

ICON_SIZE = 64
_CALM = QColor("#2e9e5b")
_CRITICAL = QColor("#d64545")
#: lines of a notification shown in the bubble; the rest is in the Alerts tab
BUBBLE_LINES = 4
STATUS_BAR_MS = 15000


def badge_icon(critical: int) -> QIcon:
    """A round badge: green when nothing critical is open, else red with the count."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(_CRITICAL if critical else _CALM)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, ICON_SIZE - 4, ICON_SIZE - 4)
    if critical:
        painter.setPen(QColor("white"))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(34 if critical < 100 else 24)
        painter.setFont(font)
        text = str(critical) if critical < 1000 else "999+"
        painter.drawText(QRect(0, 0, ICON_SIZE, ICON_SIZE), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    #: the user clicked the icon or a notification: show the window
    activated = Signal()

    def __init__(self, language: Language, window: QMainWindow) -> None:
        super().__init__(window)
        self.language = language
        self.window = window
        self.critical = 0
        #: (title, body) of every notification shown, newest last (tests and the bar)
        self.shown: list[tuple[str, str]] = []
        self.icon = QSystemTrayIcon(badge_icon(0), self)
        self.icon.activated.connect(lambda _reason: self.activated.emit())
        self.icon.messageClicked.connect(self.activated.emit)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        if self.available:
            self.icon.show()
        self.language.changed.connect(self._retitle)
        self._retitle()

    def set_critical(self, count: int) -> None:
        if count != self.critical:
            self.critical = count
            self.icon.setIcon(badge_icon(count))
            self._retitle()

    def _retitle(self) -> None:
        tr = self.language.tr
        self.icon.setToolTip(
            tr("tray.critical", count=self.critical) if self.critical else tr("tray.calm")
        )

    def notify(self, payload: Mapping[str, Any]) -> None:
        """Show one alert notification, rendered in the UI's language."""
        subject, lines = render(payload, self.language.code)
        body = "\n".join(lines[:BUBBLE_LINES])
        if len(lines) > BUBBLE_LINES:
            body += "\n" + self.language.tr("tray.more", count=len(lines) - BUBBLE_LINES)
        self.shown.append((subject, body))
        del self.shown[:-50]
        firing = payload.get("status") == "firing"
        if self.available and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Critical
                if firing
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(subject, body, kind)
        else:
            self.window.statusBar().showMessage(subject, STATUS_BAR_MS)

    def hide(self) -> None:
        self.icon.hide()
