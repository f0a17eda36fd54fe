"""Light and dark themes: Qt's Fusion style with a palette of our own, following the
system's colour scheme unless the user picked one.

Fusion looks the same on Linux, macOS and Windows and honours a palette completely, so
one palette per theme is the whole theme; views keep their status colours (red, amber,
green), chosen to read on both.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

#: what the user can choose; "system" follows the desktop's light or dark setting
CHOICES = ("system", "light", "dark")

_DARK = {
    QPalette.ColorRole.Window: "#1f2328",
    QPalette.ColorRole.WindowText: "#e6e8eb",
    QPalette.ColorRole.Base: "#16191d",
    QPalette.ColorRole.AlternateBase: "#1d2126",
    QPalette.ColorRole.ToolTipBase: "#2b3036",
    QPalette.ColorRole.ToolTipText: "#e6e8eb",
    QPalette.ColorRole.PlaceholderText: "#8a939c",
    QPalette.ColorRole.Text: "#e6e8eb",
    QPalette.ColorRole.Button: "#2b3036",
    QPalette.ColorRole.ButtonText: "#e6e8eb",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#3b5bdb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#74a7ff",
    QPalette.ColorRole.Light: "#3a4047",
    QPalette.ColorRole.Midlight: "#30353b",
    QPalette.ColorRole.Mid: "#262a2f",
    QPalette.ColorRole.Dark: "#121417",
    QPalette.ColorRole.Shadow: "#000000",
}
_DARK_DISABLED = "#6b737b"

_LIGHT = {
    QPalette.ColorRole.Window: "#f3f4f6",
    QPalette.ColorRole.WindowText: "#1f2328",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f6f7f9",
    QPalette.ColorRole.ToolTipBase: "#ffffdc",
    QPalette.ColorRole.ToolTipText: "#1f2328",
    QPalette.ColorRole.PlaceholderText: "#7a8794",
    QPalette.ColorRole.Text: "#1f2328",
    QPalette.ColorRole.Button: "#e9ebee",
    QPalette.ColorRole.ButtonText: "#1f2328",
    QPalette.ColorRole.BrightText: "#d64545",
    QPalette.ColorRole.Highlight: "#3b5bdb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#3b5bdb",
}
_LIGHT_DISABLED = "#9aa3ab"


def palette(dark: bool) -> QPalette:
    result = QPalette()
    for role, colour in (_DARK if dark else _LIGHT).items():
        result.setColor(role, QColor(colour))
    disabled = QColor(_DARK_DISABLED if dark else _LIGHT_DISABLED)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        result.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return result


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


class Theme(QObject):
    """The app's theme; ``changed(dark)`` lets views with their own drawing (charts) follow."""

    changed = Signal(bool)

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self.app = app
        self.choice = "system"
        self.dark = False
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._system_changed)
        self.set(choice)

    def set(self, choice: str) -> None:
        if choice not in CHOICES:
            raise ValueError(f"unknown theme {choice!r} (one of {', '.join(CHOICES)})")
        self.choice = choice
        self._apply()

    def _system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.choice == "system":
            self._apply()

    def _apply(self) -> None:
        dark = self.choice == "dark" or (self.choice == "system" and system_is_dark())
        self.app.setPalette(palette(dark))
        if dark != self.dark:
            self.dark = dark
            self.changed.emit(dark)
