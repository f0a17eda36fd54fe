"""The Metrics tab draws a node's charts from the history (the demo simulates nodeprobe)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def test_a_nodes_charts_show_six_hours_and_follow_the_node_choice(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1), history=tmp_path / "h.sqlite3")
    window.clusters.setCurrentRow(0)
    window.tabs.setCurrentWidget(window.metrics_view)
    view = window.metrics_view
    qtbot.waitUntil(lambda: view.node_box.count() > 0, timeout=10_000)

    def drawn(key: str) -> int:
        items = view.plots[key].listDataItems()
        return sum(len(item.xData) for item in items if item.xData is not None)

    qtbot.waitUntil(lambda: all(drawn(k) > 0 for k in view.plots), timeout=15_000)
    # Six hours of 15-second samples, charted at the store's chosen resolution.
    assert 300 <= drawn("cpu") <= 1500
    assert len(view.plots["network"].listDataItems()) == 2  # received and sent
    cpu = view.plots["cpu"].listDataItems()[0].yData
    assert cpu.min() > 0 and cpu.max() < 100
    first = view.node_box.currentText()
    view.node_box.setCurrentIndex(1)
    qtbot.waitUntil(lambda: first not in view.summary.text() and drawn("cpu") > 0, timeout=10_000)
    assert view.node_box.currentText() in view.summary.text()
