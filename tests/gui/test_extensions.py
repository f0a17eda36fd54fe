"""A view and a context-menu action join the window through the registry alone: the
window builds the view, feeds it the engine, tells it what the user does, and offers the
action on the rows of its kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from desktop.extensions import REGISTRY, MenuAction, ViewContext, ViewSpec
from desktop.language import Language
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


class Probe(QLabel):
    def __init__(self, language: Language, parent: QWidget) -> None:
        super().__init__(parent)
        self.calls: list[tuple[str, Any]] = []


@pytest.fixture
def registered() -> Iterator[list[tuple[str, Any]]]:
    """A view and an action registered for one test, gone afterwards."""
    ran: list[tuple[str, Any]] = []

    def note(hook: str) -> Any:
        return lambda view, context: view.calls.append((hook, context.cluster))

    spec = ViewSpec(
        "probe",
        "tab.history",  # any catalog id: the title goes through the catalogs like the rest
        Probe,
        attach=note("attach"),
        cluster_changed=note("cluster"),
        shown=note("shown"),
        anomalies_changed=note("anomalies"),
    )
    action = MenuAction(
        "probe-action",
        "action.describe",
        frozenset({"Pod"}),
        lambda context, kind, record: ran.append((kind, record.name)),
    )
    REGISTRY.add_view(spec)
    REGISTRY.add_action(action)
    yield ran
    REGISTRY.views.remove(spec)
    REGISTRY.actions.remove(action)


def test_a_registered_view_and_action_join_the_window(
    registered: list[tuple[str, Any]], running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    probe = window.views["probe"]
    assert isinstance(probe, Probe)
    index = window.tabs.indexOf(probe)
    assert window.tabs.tabText(index) == "History"
    window.language.set("ja")
    assert window.tabs.tabText(index) == "履歴"
    qtbot.waitUntil(lambda: ("attach", None) in probe.calls, timeout=5000)
    context = window.context
    assert isinstance(context, ViewContext) and context.hub is not None

    window.clusters.setCurrentRow(1)
    selected = window.clusters.item(1).text().splitlines()[0].split()[0]
    qtbot.waitUntil(lambda: ("cluster", selected) in probe.calls, timeout=5000)
    window.tabs.setCurrentWidget(probe)
    assert ("shown", selected) in probe.calls
    qtbot.waitUntil(lambda: any(hook == "anomalies" for hook, _ in probe.calls), timeout=10000)

    qtbot.waitUntil(lambda: window.pod_model.rowCount() > 0, timeout=5000)
    record = window.pod_model.record(0)
    menu = window.context_menu(window.pod_view, "Pod", record)
    entries = {a.data(): a for a in menu.actions()}
    assert "probe-action" in entries and "restart-pod" in entries
    entries["probe-action"].trigger()
    assert registered == [("Pod", record.name)]
    # Not offered where its kinds do not apply.
    node_menu = window.context_menu(window.node_view, "Node", window.node_model.record(0))
    assert "probe-action" not in {a.data() for a in node_menu.actions()}
