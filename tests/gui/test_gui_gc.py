"""Garbage collection in the GUI thread: survivors frozen, everything handed back at stop."""

from __future__ import annotations

import gc

from PySide6.QtWidgets import QApplication

from desktop.gui_gc import GuiThreadCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_pass_frees_garbage_freezes_survivors_and_stop_hands_all_back(
    qapp: QApplication,
) -> None:
    collector = GuiThreadCollector(qapp, interval_ms=60_000)
    try:
        assert not gc.isenabled()
        kept = [_Cycle() for _ in range(10)]
        for _ in range(2000):
            _Cycle()  # cyclic garbage: only a collection frees it
        collector.collect()
        assert gc.get_freeze_count() > 0  # the survivors, skipped by later passes
        assert all(gc.is_tracked(c) for c in kept)
    finally:
        collector.stop()
    assert gc.isenabled() and gc.get_freeze_count() == 0
