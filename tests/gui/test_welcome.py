"""First run without a kubeconfig: the welcome adds a kubeconfig file or an agent (tested
first, against a real agent served on loopback), and both are remembered for next time
(the agent's token in a private file, never in the settings)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import saved_agents
from desktop.preferences import Preferences
from desktop.welcome_dialog import WelcomeDialog
from tests.agent.conftest import VIEWER, serve_agent
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: me
  user: {token: not-a-real-token}
contexts:
- name: lab-admin
  context: {cluster: lab, user: me}
current-context: lab-admin
"""


def test_an_agent_is_tested_connected_and_remembered(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    context = window.context
    assert context is not None
    served: list[str] = []

    async def serve() -> None:
        handle = next(iter(context.hub.clusters.values()))
        agent = await serve_agent(context.nursery, context.hub, handle)
        served.append(agent.url)

    context.nursery.start_soon(serve)
    qtbot.waitUntil(lambda: bool(served), timeout=5000)
    preferences = Preferences(tmp_path / "desktop.ini")
    welcome = WelcomeDialog(window.language, preferences, context.hub, context.nursery, window)
    welcome.open()
    welcome.agent_button.click()
    welcome.agent_name.setText("edge")
    welcome.agent_url.setText(served[0])

    welcome.agent_token.setText("wrong-token")
    welcome.test_button.click()
    qtbot.waitUntil(lambda: "did not answer" in welcome.result.text(), timeout=10000)
    assert "401" in welcome.result.text()

    welcome.agent_token.setText(VIEWER)
    welcome.test_button.click()
    qtbot.waitUntil(lambda: "answered" in welcome.result.text(), timeout=10000)
    assert "synced" in welcome.result.text()

    welcome.connect_button.click()
    assert "edge" in context.hub.clusters and not welcome.isVisible()
    names = lambda: [  # noqa: E731
        window.clusters.item(r).data(Qt.ItemDataRole.UserRole)
        for r in range(window.clusters.count())
    ]
    qtbot.waitUntil(lambda: "edge" in names(), timeout=10000)

    [agent] = preferences.agents
    token_file = Path(agent["token_file"])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert VIEWER not in (tmp_path / "desktop.ini").read_text()
    [(name, target)] = saved_agents(Preferences(tmp_path / "desktop.ini"))
    assert (name, target.url, target.token) == ("edge", served[0], VIEWER)


def test_a_kubeconfig_file_is_offered_and_remembered_and_a_wrong_one_explained(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    context = window.context
    assert context is not None
    preferences = Preferences(tmp_path / "desktop.ini")
    welcome = WelcomeDialog(window.language, preferences, context.hub, context.nursery, window)
    welcome.open()
    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    assert welcome.add_kubeconfig(empty) is None
    assert "no contexts" in welcome.result.text() and welcome.isVisible()

    config = tmp_path / "lab.yaml"
    config.write_text(KUBECONFIG)
    assert welcome.add_kubeconfig(config) is not None
    rows = [window.clusters.item(r).text() for r in range(window.clusters.count())]
    assert any(row.startswith("lab-admin") for row in rows)
    assert Preferences(tmp_path / "desktop.ini").kubeconfig_files == [str(config)]
