"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 dropped a reference to
True on every Signal.emit(), and a window that had emitted a few thousand signals died at
its next garbage collection. The desktop emits signals all day."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal

pytestmark = pytest.mark.gui


class _Talker(QObject):
    said = Signal(object)


def test_emitting_signals_keeps_the_reference_counts_of_true_and_false() -> None:
    talker = _Talker()
    heard: list[object] = []
    talker.said.connect(heard.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for number in range(1000):
        talker.said.emit(number)
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(heard) == 1000
    # Other threads may hold or drop a few; a thousand emits must not cost a thousand.
    assert after[0] - before[0] > -100 and after[1] - before[1] > -100, (before, after)
