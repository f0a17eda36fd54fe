"""Python's cyclic garbage collection, run in the GUI thread only.

Left alone, the collector runs in whichever thread happens to allocate — often a worker
(the history writer, a query thread). When it frees a cycle holding a Qt widget there, the
binding defers the C++ deletion to the GUI thread, where it runs at an arbitrary moment:
in the middle of a paint, Qt then deadlocks on its own mutex (seen with a closed detail
page's chart). So the automatic collector is off while the window runs, and a timer in
the GUI thread collects instead — the same remedy pyqtgraph ships.

Survivors are frozen after every pass (``gc.freeze``): later passes skip them. Without
that, a collection that visits the clusters' state (tens of thousands of pods) stalls the
window for 0.3–0.4 s, and Python's own schedule brings one every few seconds while a big
cluster is listed. Every half hour the frozen objects are thawed and one full collection
visits them, so cyclic garbage among them is freed in the end (that pass is the one
long pause left).
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 250
#: how often the frozen survivors are visited again by a full collection
THAW_INTERVAL_S = 1800.0


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._thawed = time.monotonic()
        gc.disable()
        self._timer.start(interval_ms)

    def collect(self) -> None:
        """Collect the generations that are due, as the automatic collector would, then
        freeze what survived."""
        counts = gc.get_count()
        if counts[0] <= self._thresholds[0]:
            return  # nothing due: freezing now would keep fresh garbage unvisited
        for generation in range(3):
            if counts[generation] <= self._thresholds[generation]:
                break
            if generation == 2 and time.monotonic() - self._thawed >= THAW_INTERVAL_S:
                gc.unfreeze()
                self._thawed = time.monotonic()
            gc.collect(generation)
        gc.freeze()  # only what a pass has just visited and kept

    def stop(self) -> None:
        """Collect everything now, here, and hand collection back to Python."""
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        gc.enable()
