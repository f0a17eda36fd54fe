"""The main window: the shell every view plugs into."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget


class MainWindow(QMainWindow):
    """Top-level window. Closing it asks the engine to stop; the app quits when it has."""

    close_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("AtlHyper")
        self.resize(1280, 800)
        central = QWidget()
        layout = QVBoxLayout(central)
        self.headline = QLabel("AtlHyper")
        self.headline.setObjectName("headline")
        self.headline.setStyleSheet("font-size: 28px; font-weight: 600;")
        self.status = QLabel(
            "No kubeconfig found. The built-in demo fleet will open here once the engine lands."
        )
        self.status.setWordWrap(True)
        for label in (self.headline, self.status):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        self.setCentralWidget(central)
        self._closing = False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.close_requested.emit()
        event.accept()
