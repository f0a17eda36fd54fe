"""The Assistant view: a clear "not configured" page, the settings page that turns it on,
the error for an endpoint that cannot be reached, an answer rendered as it streams in,
and a proposal that opens the normal operation dialog (and nothing more)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from desktop.assistant_view import AssistantSettingsPage, AssistantView
from desktop.main_window import MainWindow
from desktop.operation_dialog import OperationDialog
from headless_agent.assistant import AssistantSettings
from headless_agent.assistant import settings as assistant_settings
from headless_agent.assistant.settings import KEY_VARIABLE
from headless_agent.state.records import PodRecord
from tests.alerts.receivers import free_port
from tests.assistant.scripted_model import ScriptedModel, Turn, call, say
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui

CLUSTER = "demo-prod-eu"


def _view(window: MainWindow) -> AssistantView:
    view = window.views["assistant"]
    assert isinstance(view, AssistantView)
    window.tabs.setCurrentWidget(view)
    return view


def _ask(qtbot: QtBot, view: AssistantView, question: str) -> None:
    view.question.setText(question)
    qtbot.mouseClick(view.ask_button, Qt.MouseButton.LeftButton)


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel()
    scripted.start_in_thread()
    yield scripted
    scripted.stop_thread()


def test_without_an_endpoint_the_view_says_so_and_settings_turn_it_on(
    running_app: AppFactory, qtbot: QtBot, model: ScriptedModel
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=20))
    view = _view(window)
    assert not view.configured
    assert view.pages.currentWidget().isVisible()
    assert "Settings → Assistant" in view.off_text.text()
    assert view.settings_button.isVisible()

    dialog = window.open_settings()
    [page] = [w for _, w in dialog.extra if isinstance(w, AssistantSettingsPage)]
    # The test machine has no OS keyring: the page says so before anyone types a key.
    assert page.keyring_note.text().count(KEY_VARIABLE) == 1
    assert not page.keyring_note.isHidden()
    page.base_url.setText(model.url + "/")
    page.model.setText("scripted-1")
    page.api_key.setText("sk-never-shown")
    dialog.apply()
    assert view.configured
    assert assistant_settings.load() == AssistantSettings(base_url=model.url, model="scripted-1")
    # The key could not be kept: the view says how to give it instead.
    assert KEY_VARIABLE in view.error.text() and view.error.isVisible()
    assert model.url in view.endpoint.text()


def test_an_unreachable_endpoint_is_a_clear_error(running_app: AppFactory, qtbot: QtBot) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant_settings.save(AssistantSettings(base_url=url, model="m"))
    window = running_app(lambda hub: hub.watch_demo(speed=20))
    view = _view(window)
    assert view.configured
    _ask(qtbot, view, "hello?")
    qtbot.waitUntil(view.error.isVisible, timeout=15000)
    assert "cannot be reached" in view.error.text() and url in view.error.text()
    assert view.ask_button.isEnabled()


def test_a_streamed_answer_and_a_proposal_that_opens_the_operation_dialog(
    running_app: AppFactory, qtbot: QtBot, model: ScriptedModel
) -> None:
    assistant_settings.save(AssistantSettings(base_url=model.url, model="scripted-1"))
    window = running_app(lambda hub: hub.watch_demo(speed=20))
    hub = window.context.hub if window.context is not None else None
    assert hub is not None
    qtbot.waitUntil(lambda: hub.clusters[CLUSTER].first_sync.is_set(), timeout=10000)
    pod = sorted(
        p.name
        for p in hub.clusters[CLUSTER].state.records("Pod")
        if isinstance(p, PodRecord) and p.name.startswith("checkout")
    )[0]
    answer = "Checkout's containers exit with code 1 and restart: a crash loop."
    restart: Turn = call(
        "propose_operation",
        action="restart-pod",
        kind="Pod",
        namespace="shop",
        name=pod,
        reason="r",
    )
    model.script = [
        call("open_anomalies"),
        say(answer),
        restart,
        say("Review the restart below."),
    ]
    view = _view(window)
    seen: list[str] = []
    view.transcript.textChanged.connect(lambda: seen.append(view.transcript.toPlainText()))

    _ask(qtbot, view, "Why is checkout crash-looping?")
    qtbot.waitUntil(lambda: answer in view.transcript.toPlainText(), timeout=15000)
    # Rendered as it came: the first half was on screen before the rest arrived.
    assert any(answer[:10] in text and answer not in text for text in seen)
    qtbot.waitUntil(view.ask_button.isEnabled, timeout=5000)
    assert view.proposal_buttons == []

    _ask(qtbot, view, f"Please restart pod {pod}.")
    qtbot.waitUntil(lambda: bool(view.proposal_buttons), timeout=15000)
    [button] = view.proposal_buttons
    assert isinstance(button, QPushButton)
    assert pod in button.text() and "Restart" in button.text()
    assert view.proposal_note.isVisible()
    assert window.dialog is None  # nothing opened by itself
    button.click()
    dialog = window.dialog
    assert isinstance(dialog, OperationDialog)
    assert (dialog.command.action, dialog.command.name) == ("restart-pod", pod)
    assert dialog.isVisible()
    dialog.reject()
    assert model.problems == []
