"""The trio guest run on Qt's loop: a close at any moment ends both loops."""

from __future__ import annotations

import trio
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.trio_guest import TrioGuest


def test_a_cancel_before_trios_first_slice_still_ends_the_run(qapp: QApplication) -> None:
    # The window can be closed from its first paint, before the guest run's first slice
    # has entered the root scope; that close must not be lost.
    guest = TrioGuest(qapp)
    entered: list[bool] = []

    async def engine() -> None:
        entered.append(True)
        await trio.sleep_forever()

    guest.cancel()
    guest.start(engine)
    stuck = QTimer()
    stuck.setSingleShot(True)
    stuck.timeout.connect(qapp.quit)
    stuck.start(10_000)
    qapp.exec()
    assert guest.finished, "the guest run was still going after 10 s"
    assert entered and guest.error is None
