"""A pod's page on the demo fleet: its containers, conditions and events live from the
state, its restart history from the store, and the logs and YAML dialogs a click away."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.logs_view import LogsDialog
from desktop.main_window import MainWindow
from desktop.node_detail import NodeDetailDialog
from desktop.pod_detail import PodDetailDialog
from desktop.yaml_dialog import YamlDialog
from headless_agent import i18n
from headless_agent.state.records import PodRecord
from tests.gui.conftest import AppFactory
from tests.gui.test_languages import _patterns, visible_texts

pytestmark = pytest.mark.gui


def _prod(running_app: AppFactory, qtbot: QtBot, tmp_path: Path) -> MainWindow:
    """The demo fleet with time compressed; the cluster whose checkout pods crash."""
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    names = [window.clusters.item(r).data(Qt.ItemDataRole.UserRole) for r in range(3)]
    window.clusters.setCurrentRow(next(i for i, n in enumerate(names) if "prod" in n))
    model = window.pod_model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and "prod" in model.cluster_of(0), timeout=30_000)
    return window


def _pods(window: MainWindow) -> list[PodRecord]:
    found = [window.pod_model.record(r) for r in range(window.pod_model.rowCount())]
    return [p for p in found if isinstance(p, PodRecord)]


def open_pod_page(window: MainWindow, qtbot: QtBot, pod: PodRecord) -> PodDetailDialog:
    """Through the Pods table's context menu, as a user does."""
    menu = window.context_menu(window.pod_view, "Pod", pod)
    entries = [a for a in menu.actions() if a.data() == "details"]
    title = i18n.message(window.language.code, "detail.action")
    assert [a.text() for a in entries] == [title] and menu.actions()[0] is entries[0]
    entries[0].trigger()
    dialogs = [d for d in window.findChildren(PodDetailDialog) if d.name == pod.name]
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    qtbot.addWidget(dialogs[0])
    return dialogs[0]


def test_the_pod_page_shows_its_containers_and_opens_logs_and_yaml(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _prod(running_app, qtbot, tmp_path)
    qtbot.waitUntil(
        lambda: any(p.display_status == "Running" and p.owner_name for p in _pods(window)),
        timeout=10_000,
    )
    pod = next(p for p in _pods(window) if p.display_status == "Running" and p.owner_name)
    dialog = open_pod_page(window, qtbot, pod)
    assert dialog.windowTitle() == f"Pod {pod.namespace}/{pod.name}"
    facts = dialog.facts
    assert facts.text("detail.node") == pod.node
    assert facts.text("detail.owner") == f"{pod.owner_kind}/{pod.owner_name}"
    assert facts.text("detail.pod_ip") == (pod.pod_ip or "—")
    containers = [c for c in pod.containers]
    assert dialog.containers.texts(0) == [
        f"{c.name} (init)" if c.init else c.name for c in containers
    ]
    assert dialog.containers.texts(1) == [c.image for c in containers]
    assert dialog.tabs.tabText(0) == f"Containers ({len(containers)})"
    assert "Ready" in dialog.conditions.texts(0)
    # Logs and YAML: the window's own dialogs, for this pod.
    qtbot.mouseClick(dialog.logs_button, Qt.MouseButton.LeftButton)
    assert isinstance(window.side_dialog, LogsDialog) and window.side_dialog.pod.name == pod.name
    window.side_dialog.close()
    qtbot.mouseClick(dialog.yaml_button, Qt.MouseButton.LeftButton)
    assert isinstance(window.side_dialog, YamlDialog)
    assert window.side_dialog.target.name == pod.name
    window.side_dialog.close()
    # And its node's page.
    qtbot.mouseClick(dialog.node_button, Qt.MouseButton.LeftButton)
    node_page = window.findChild(NodeDetailDialog)
    assert node_page is not None and node_page.node == pod.node
    qtbot.addWidget(node_page)
    rows = range(node_page.pod_model.rowCount())
    assert pod.name in {node_page.pod_model.record(r).name for r in rows}


def test_a_crashing_pods_page_shows_its_restart_history_and_events(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _prod(running_app, qtbot, tmp_path)

    def crashed() -> list[PodRecord]:
        return [p for p in _pods(window) if p.namespace == "shop" and p.restart_count > 0]

    qtbot.waitUntil(lambda: bool(crashed()), timeout=15_000)
    pod = crashed()[0]
    store = window.context.hub.history if window.context else None
    assert store is not None
    dialog = open_pod_page(window, qtbot, pod)
    # The store records the restart as the state shows it; the page reads it (again when
    # the count changes) and lists each increase, newest first.
    qtbot.waitUntil(lambda: dialog.restarts.rowCount() > 0, timeout=15_000)
    increases = [int(text.lstrip("+")) for text in dialog.restarts.texts(1)]
    assert all(i > 0 for i in increases)
    total = sum(increases)
    assert dialog.tabs.tabText(3) == f"Restart history ({total})"
    counts = [int(text) for text in dialog.restarts.texts(2)]
    assert counts == sorted(counts, reverse=True) and counts[0] <= dialog.record().restart_count
    assert dialog.no_restarts.isHidden()
    # Its containers say why they restarted.
    assert any(dialog.containers.texts(4)) and any(
        "exit code" in text for text in dialog.containers.texts(5)
    ), dialog.containers.texts(5)
    # The events the cluster sends about it.
    qtbot.waitUntil(lambda: dialog.events.rowCount() > 0, timeout=10_000)
    assert dialog.tabs.tabText(2) == f"Events ({dialog.events.rowCount()})"
    assert "Warning" in dialog.events.texts(1)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_text_of_the_detail_pages_is_from_the_catalog(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path, language: str
) -> None:
    window = _prod(running_app, qtbot, tmp_path)
    window.language.set(language)
    pod = next(p for p in _pods(window) if p.node)
    pod_page = open_pod_page(window, qtbot, pod)
    qtbot.mouseClick(pod_page.node_button, Qt.MouseButton.LeftButton)
    node_page = window.findChild(NodeDetailDialog)
    assert node_page is not None
    qtbot.addWidget(node_page)
    qtbot.waitUntil(lambda: node_page.charts["cpu"].point_count() > 0, timeout=15_000)
    patterns = _patterns(language)
    for page in (pod_page, node_page):
        for tab in range(page.tabs.count()):  # every page, as the user flips through them
            page.tabs.setCurrentIndex(tab)
            qtbot.wait(20)
            texts = visible_texts(page)  # type: ignore[arg-type]
            strangers = [t for t in texts if not any(p.match(t) for p in patterns)]
            assert strangers == [], (page.objectName(), page.tabs.tabText(tab))
    # Switching the language re-renders an open page.
    other = next(code for code in i18n.LANGUAGES if code != language)
    window.language.set(other)
    assert pod_page.logs_button.text() == i18n.message(other, "action.logs")
    assert node_page.tabs.tabText(0) == i18n.message(other, "detail.tab.charts")
