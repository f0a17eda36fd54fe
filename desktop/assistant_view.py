"""The Assistant view and its settings page (optional: off until an endpoint is set).

The view asks the engine's ``Assistant`` (``headless_agent.assistant``) and shows its answer
as it streams in. It shows a clear "not configured" page while no endpoint and model are
set, and the engine's own words when the endpoint cannot be reached or the budget is spent.
A change the model proposes is a button: it opens the window's normal operation dialog
(preview, confirmation, audit) — the view itself never runs anything.

Settings (base URL, model, limits) are the engine's ``assistant.json``; the API key goes to
the OS keyring, or, where there is none, comes from an environment variable.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.extensions import REGISTRY, SettingsPage, ViewContext, ViewSpec
from desktop.language import Language
from headless_agent import i18n
from headless_agent.assistant import (
    Assistant,
    AssistantError,
    AssistantEvent,
    AssistantSettings,
    Conversation,
    KeyringUnavailable,
    Proposal,
    Proposed,
    TextDelta,
    ToolUsed,
)
from headless_agent.assistant import settings as assistant_settings


class AssistantView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.context: ViewContext | None = None
        self.settings = AssistantSettings()
        self.assistant: Assistant | None = None
        self.conversation: Conversation | None = None
        self.busy = False
        #: a problem to show once (the key could not be stored)
        self.notice: i18n.Message | None = None

        # The page shown while the assistant is off.
        self.off_text = QLabel()
        self.off_text.setWordWrap(True)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self._open_settings)
        off = QWidget()
        off_layout = QVBoxLayout(off)
        off_layout.addStretch(1)
        off_layout.addWidget(self.off_text)
        off_layout.addWidget(self.settings_button)
        off_layout.addStretch(2)

        # The conversation.
        self.endpoint = QLabel()
        self.endpoint.setProperty("dynamic", True)
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_conversation)
        self.transcript = QPlainTextEdit()
        self.transcript.setReadOnly(True)
        self.transcript.setProperty("dynamic", True)
        self.status = QLabel()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()
        self.proposal_note = QLabel()
        self.proposal_note.setWordWrap(True)
        self.proposal_note.hide()
        self.proposals = QVBoxLayout()
        self.proposal_buttons: list[QPushButton] = []
        self.question = QLineEdit()
        self.question.returnPressed.connect(self.ask)
        self.ask_button = QPushButton()
        self.ask_button.clicked.connect(self.ask)
        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        header = QHBoxLayout()
        header.addWidget(self.endpoint, 1)
        header.addWidget(self.new_button)
        chat_layout.addLayout(header)
        chat_layout.addWidget(self.transcript, 1)
        chat_layout.addWidget(self.status)
        chat_layout.addWidget(self.error)
        chat_layout.addWidget(self.proposal_note)
        chat_layout.addLayout(self.proposals)
        row = QHBoxLayout()
        row.addWidget(self.question, 1)
        row.addWidget(self.ask_button)
        chat_layout.addLayout(row)

        self.pages = QStackedWidget()
        self.pages.addWidget(off)
        self.pages.addWidget(chat)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        language.changed.connect(self.retranslate)
        self.retranslate()

    # --- state -----------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.pages.currentIndex() == 1

    def attach(self, context: ViewContext) -> None:
        self.context = context
        self.reload_settings()

    def reload_settings(self) -> None:
        """Read the settings again (after the settings page applied them)."""
        settings = assistant_settings.load()
        if settings != self.settings or self.assistant is None:
            self.settings = settings
            self._replace_assistant()
        self.pages.setCurrentIndex(1 if settings.configured else 0)
        self.retranslate()

    def _replace_assistant(self) -> None:
        old, self.assistant = self.assistant, None
        context = self.context
        if context is not None and old is not None:
            context.nursery.start_soon(old.aclose)
        if context is None or not self.settings.configured:
            return
        self.assistant = Assistant(
            context.hub,
            self.settings,
            api_key=assistant_settings.api_key(self.settings),
            ops=context.ops,
            language=self.language.code,
        )
        self.conversation = None

    def new_conversation(self) -> None:
        self.conversation = None
        self.transcript.clear()
        self._clear_proposals()
        self.error.hide()
        self.status.clear()

    def retranslate(self) -> None:
        tr = self.language.tr
        self.off_text.setText(tr("assistant.not_configured"))
        self.settings_button.setText(tr("assistant.open_settings"))
        self.new_button.setText(tr("assistant.new"))
        self.ask_button.setText(tr("assistant.send"))
        self.question.setPlaceholderText(tr("assistant.placeholder"))
        self.proposal_note.setText(tr("assistant.proposal_note"))
        self.endpoint.setText(
            tr("assistant.endpoint", model=self.settings.model, url=self.settings.base_url)
        )
        if self.assistant is not None:
            self.assistant.language = self.language.code
        if self.notice is not None:
            self._show_error(self.notice)

    def _open_settings(self) -> None:
        if self.context is not None:
            self.context.window.open_settings()

    # --- asking ----------------------------------------------------------------------------

    def ask(self) -> None:
        text = self.question.text().strip()
        context, assistant = self.context, self.assistant
        if not text or self.busy or context is None or assistant is None:
            return
        if self.conversation is None:
            cluster = context.cluster or next(iter(sorted(context.hub.clusters)), "")
            self.conversation = assistant.new_conversation(cluster)
        self.question.clear()
        self.error.hide()
        self.notice = None
        tr = self.language.tr
        self._append(f"{tr('assistant.you')}: {text}\n\n{tr('assistant.model')}: ")
        self.busy = True
        self.ask_button.setEnabled(False)
        self.status.setText(tr("assistant.thinking"))
        context.nursery.start_soon(self._answer, assistant, self.conversation, text)

    async def _answer(self, assistant: Assistant, conversation: Conversation, text: str) -> None:
        # Cancelled (the window closing): the widgets may be gone, so touch nothing.
        try:
            answer = await assistant.ask(conversation, text, self._event)
        except AssistantError as error:
            self.status.clear()
            self._show_error(error.said())
        else:
            if answer.stopped is not None:
                self._append("\n" + i18n.render(self.language.code, answer.stopped))
            code = self.language.code
            self.status.setText(
                self.language.tr(
                    "assistant.tokens_today",
                    used=i18n.format_number(assistant.tokens_counted, code),
                    limit=i18n.format_number(self.settings.tokens_per_day, code),
                )
            )
        self._append("\n\n")
        self.busy = False
        self.ask_button.setEnabled(True)

    def _event(self, event: AssistantEvent) -> None:
        if isinstance(event, TextDelta):
            self._append(event.text)
        elif isinstance(event, ToolUsed):
            self.status.setText(self.language.tr("assistant.tool_used", tool=event.name))
        elif isinstance(event, Proposed):
            self._add_proposal(event.proposal)

    def _append(self, text: str) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.transcript.setTextCursor(cursor)
        self.transcript.ensureCursorVisible()

    def _show_error(self, said: i18n.Message) -> None:
        self.error.setText(i18n.render(self.language.code, said))
        self.error.show()

    # --- proposals -------------------------------------------------------------------------

    def _add_proposal(self, proposal: Proposal) -> None:
        tr = self.language.tr
        command = proposal.command
        button = QPushButton(
            tr(
                "assistant.proposal",
                action=tr(f"action.{command.action}"),
                target=command.describe_target(),
            )
        )
        button.setToolTip(proposal.reason)
        button.clicked.connect(lambda _=False, p=proposal: self.review(p))
        self.proposals.addWidget(button)
        self.proposal_buttons.append(button)
        self.proposal_note.show()

    def review(self, proposal: Proposal) -> Any:
        """Open the normal operation dialog for a proposal (the user decides there)."""
        if self.context is None:
            return None
        return self.context.window.open_operation(proposal.command, proposal.cluster)

    def _clear_proposals(self) -> None:
        for button in self.proposal_buttons:
            button.deleteLater()
        self.proposal_buttons.clear()
        self.proposal_note.hide()


# --- settings ------------------------------------------------------------------------------


class AssistantSettingsPage(QWidget):
    def __init__(self, language: Language, context: ViewContext | None) -> None:
        super().__init__()
        tr = language.tr
        current = assistant_settings.load()
        self.base_url = QLineEdit(current.base_url)
        self.base_url.setPlaceholderText("http://127.0.0.1:11434/v1")
        self.model = QLineEdit(current.model)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText(tr("assistant.settings.api_key_hint"))
        self.max_rounds = QSpinBox()
        self.max_rounds.setRange(1, 20)
        self.max_rounds.setValue(current.max_rounds)
        self.tokens_per_day = QSpinBox()
        self.tokens_per_day.setRange(1000, 100_000_000)
        self.tokens_per_day.setSingleStep(10_000)
        self.tokens_per_day.setValue(current.tokens_per_day)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(5, 900)
        self.timeout.setValue(current.timeout)
        self.keyring_note = QLabel(
            tr("assistant.settings.no_keyring", variable=assistant_settings.KEY_VARIABLE)
        )
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setVisible(not assistant_settings.keyring_available())
        note = QLabel(tr("assistant.settings.note"))
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow(tr("assistant.settings.base_url"), self.base_url)
        form.addRow(tr("assistant.settings.model"), self.model)
        form.addRow(tr("assistant.settings.api_key"), self.api_key)
        form.addRow(self.keyring_note)
        form.addRow(tr("assistant.settings.max_rounds"), self.max_rounds)
        form.addRow(tr("assistant.settings.tokens_per_day"), self.tokens_per_day)
        form.addRow(tr("assistant.settings.timeout"), self.timeout)

    def chosen(self) -> AssistantSettings:
        return AssistantSettings(
            base_url=self.base_url.text(),
            model=self.model.text(),
            max_rounds=self.max_rounds.value(),
            tokens_per_day=self.tokens_per_day.value(),
            timeout=self.timeout.value(),
        ).checked()

    def apply(self, context: ViewContext | None = None) -> i18n.Message | None:
        """Save the settings and the key, and tell the window's Assistant view; returns
        what went wrong with the key, if it did."""
        settings = self.chosen()
        assistant_settings.save(settings)
        problem: i18n.Message | None = None
        key = self.api_key.text()
        if key:
            try:
                assistant_settings.store_api_key(settings, key)
            except KeyringUnavailable:
                problem = (
                    "assistant.settings.no_keyring",
                    {"variable": assistant_settings.KEY_VARIABLE},
                )
                self.keyring_note.show()
        view = context.window.views.get("assistant") if context is not None else None
        if isinstance(view, AssistantView):
            view.notice = problem
            view.reload_settings()
        return problem


def _apply(page: AssistantSettingsPage, context: ViewContext | None) -> None:
    page.apply(context)


REGISTRY.add_view(
    ViewSpec(
        "assistant",
        "tab.assistant",
        AssistantView,
        attach=lambda view, context: view.attach(context),
        shown=lambda view, context: view.reload_settings(),
    )
)
REGISTRY.add_settings_page(
    SettingsPage("assistant", "settings.assistant", AssistantSettingsPage, _apply)
)
