"""The History tab over the real engine and a real history file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from headless_agent import i18n
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def _rows(model: QAbstractItemModel) -> list[list[str]]:
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _open_history(window: MainWindow, cluster: str) -> None:
    names = [window.clusters.item(i).text().split()[0] for i in range(window.clusters.count())]
    window.clusters.setCurrentRow(names.index(cluster))
    window.tabs.setCurrentWidget(window.history_view)


def test_history_shows_the_demo_incidents_from_open_to_resolved(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=60), history=tmp_path / "h.sqlite3")
    _open_history(window, "demo-prod-eu")
    view = window.history_view
    episodes = view.episode_view.model()

    def checkout(ended: str | None = None) -> bool:
        return any(
            row[4] == "Deployment shop/checkout"
            and row[5] == "CrashLoopBackOff"
            and (ended is None or (row[2] == ended) == (ended == "ongoing"))
            for row in _rows(episodes)
        )

    # The crash loop shows up while it lasts, then as ended (the demo heals it).
    qtbot.waitUntil(lambda: checkout("ongoing"), timeout=15000)
    qtbot.waitUntil(lambda: checkout("ended"), timeout=20000)
    # Only this cluster's: staging's payments and edge-tokyo's cart have their own histories.
    assert not [row for row in _rows(episodes) if row[4].endswith(("payments", "/cart"))]
    assert "Warning events" in view.events_title.text()
    qtbot.waitUntil(lambda: view.event_view.model().rowCount() > 0, timeout=10000)
    assert "anomalies" in view.summary.text()

    # The search narrows both lists; what matches nothing says so.
    view.search.setText("checkout")
    qtbot.waitUntil(
        lambda: bool(_rows(episodes)) and all("checkout" in row[4] for row in _rows(episodes)),
        timeout=5000,
    )
    # Kind and reason filters offer what the range holds; the namespace box narrows too.
    view.search.clear()
    reasons = view.reason_box
    qtbot.waitUntil(lambda: reasons.findData("CrashLoopBackOff") > 0, timeout=5000)
    reasons.setCurrentIndex(reasons.findData("CrashLoopBackOff"))
    qtbot.waitUntil(
        lambda: bool(_rows(episodes)) and {r[5] for r in _rows(episodes)} == {"CrashLoopBackOff"},
        timeout=5000,
    )
    assert view.kind_box.findData("Deployment") > 0
    view.set_namespace("payments")  # as the window's namespace box does
    qtbot.waitUntil(lambda: episodes.rowCount() == 0, timeout=5000)
    view.set_namespace("")
    reasons.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len({r[5] for r in _rows(episodes)}) > 1, timeout=5000)

    view.search.setText("no-such-thing-anywhere")
    qtbot.waitUntil(lambda: episodes.rowCount() == 0, timeout=5000)
    assert view.event_view.model().rowCount() == 0
    qtbot.waitUntil(lambda: "Nothing went wrong" in view.summary.text(), timeout=5000)

    # Another cluster, another history.
    view.search.clear()
    _open_history(window, "demo-staging")
    qtbot.waitUntil(lambda: view._cluster == "demo-staging", timeout=5000)
    qtbot.waitUntil(lambda: all("checkout" not in row[4] for row in _rows(episodes)), timeout=5000)

    # In Japanese, the same rows in Japanese.
    window.language.set("ja")
    _open_history(window, "demo-prod-eu")
    qtbot.waitUntil(lambda: checkout(), timeout=5000)
    severities = {row[0] for row in _rows(episodes)}
    assert severities <= {i18n.message("ja", f"severity.{s}") for s in ("critical", "warning")}


def test_a_history_file_that_cannot_be_used_is_explained_and_left_alone(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path, kube_cluster: object
) -> None:
    from headless_agent.kube.cluster_source import KubeTarget
    from headless_agent.kube.kubeconfig import load_kubeconfigs
    from tests.kubeharness.cluster import KwokCluster

    assert isinstance(kube_cluster, KwokCluster)
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("not a database " * 200)
    before = notes.read_bytes()
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None
    window = running_app(
        lambda hub: hub.watch_context(KubeTarget(kubeconfigs, context)), history=notes
    )
    window.tabs.setCurrentWidget(window.history_view)
    text = window.history_view.summary.text()
    assert text.startswith("History is off:") and str(notes) in text, text
    assert "has not changed it" in text
    # The live views work without history.
    qtbot.waitUntil(lambda: window.clusters.item(0).text().endswith("synced"), timeout=30000)
    assert notes.read_bytes() == before
