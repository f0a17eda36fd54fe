"""Python's cyclic garbage collection, run in the GUI thread only.

Left alone, the collector runs in whichever thread happens to allocate — often a worker
(the history writer, a query thread). When it frees a cycle holding a Qt widget there, the
binding defers the C++ deletion to the GUI thread, where it runs at an arbitrary moment:
in the middle of a paint, Qt then deadlocks on its own mutex (seen with a closed detail
page's chart). So the automatic collector is off while the window runs, and a timer in
the GUI thread collects instead — the same remedy pyqtgraph ships.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        gc.disable()
        self._timer.start(interval_ms)

    def collect(self) -> None:
        """Collect the generations that are due, as the automatic collector would."""
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self._thresholds[generation]:
                break
            gc.collect(generation)

    def stop(self) -> None:
        """Collect everything now, here, and hand collection back to Python."""
        self._timer.stop()
        gc.collect()
        gc.enable()
