"""GUI fixtures: a running app (Qt + trio guest + Hub) on the offscreen platform."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
import trio
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.alert_setup import open_alerts
from desktop.app import open_history
from desktop.gui_gc import GuiThreadCollector
from desktop.language import Language
from desktop.main_window import MainWindow
from desktop.trio_guest import TrioGuest
from headless_agent.hub import Hub
from headless_agent.kube.kubeconfig import KubeconfigSet


class AppFactory(Protocol):
    def __call__(
        self,
        add_clusters: Callable[[Hub], None],
        kubeconfigs: KubeconfigSet | None = None,
        history: Path | None = None,
        read_only: bool = False,
        alerts: Path | None = None,
    ) -> MainWindow: ...


@pytest.fixture
def running_app(
    qapp: QApplication, qtbot: QtBot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppFactory]:
    """Start a Hub in a trio guest run on Qt's loop with a MainWindow attached to it."""
    guests: list[TrioGuest] = []

    def start(
        add_clusters: Callable[[Hub], None],
        kubeconfigs: KubeconfigSet | None = None,
        history: Path | None = None,
        read_only: bool = False,
        alerts: Path | None = None,
    ) -> MainWindow:
        """``history``: the file to give the app (the demo fleet ignores it and keeps a
        throwaway one, as the app does); None: no history. ``alerts``: the alerting
        settings file (it need not exist: the built-in settings then apply)."""
        window = MainWindow(Language("en"))
        qtbot.addWidget(window)
        guest = TrioGuest(qapp)
        guests.append(guest)
        hub = Hub()
        add_clusters(hub)

        async def engine() -> None:
            problem = None if history is None else await open_history(hub, str(history))
            settings = alerts if alerts is not None else tmp_path_factory.mktemp("a") / "a.toml"
            desktop_alerts = open_alerts(hub, str(settings), window.notify)
            async with trio.open_nursery() as nursery:
                await nursery.start(hub.run)
                window.attach(
                    hub,
                    nursery,
                    history_problem=problem,
                    read_only=read_only,
                    alerts=desktop_alerts,
                )
                if kubeconfigs is not None:
                    window.offer_contexts(kubeconfigs, [])
                await trio.sleep_forever()

        window.close_requested.connect(guest.cancel)
        guest.start(engine)
        window.show()
        qtbot.waitUntil(lambda: window.clusters.count() > 0, timeout=5000)
        return window

    collector = GuiThreadCollector()  # as the app runs: collection in this thread only
    try:
        yield start
        for guest in guests:
            guest.cancel()
            qtbot.waitUntil(lambda g=guest: g.finished, timeout=5000)  # type: ignore[misc]
            assert guest.error is None, guest.error
    finally:
        collector.stop()  # the closed windows' cycles go now, here, not in a later test
