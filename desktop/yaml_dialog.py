"""Edit an object's YAML: a server-side dry run shows the diff, then Apply does it.

Apply stays disabled until the text as it is now passed a dry run, so nothing is applied
that the user has not seen the effect of; both go through the one command path (the
apply is audited like every change).
"""

from __future__ import annotations

import trio
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from headless_agent.hub import ClusterHandle
from headless_agent.ops.commands import Command, Outcome
from headless_agent.ops.preview import where_said
from headless_agent.ops.runner import Operations


class YamlDialog(QDialog):
    def __init__(
        self,
        language: Language,
        ops: Operations,
        handle: ClusterHandle,
        target: Command,
        nursery: trio.Nursery,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("yamlDialog")
        self.language = language
        self.ops, self.handle, self.target, self.nursery = ops, handle, target, nursery
        self._checked_text: str | None = None
        tr = language.tr
        self.setWindowTitle(tr("yaml.title", target=target.describe_target()))
        self.resize(900, 700)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setStyleHint(QFont.StyleHint.Monospace)
        self.editor = QPlainTextEdit()
        self.editor.setFont(fixed)
        self.editor.textChanged.connect(self._edited)
        self.diff = QPlainTextEdit()
        self.diff.setFont(fixed)
        self.diff.setReadOnly(True)
        where_id, where_params = where_said(handle)
        self.where = QLabel(tr(where_id, **where_params))
        self.where.setProperty("dynamic", True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setProperty("dynamic", True)
        split = QSplitter()
        split.addWidget(self.editor)
        split.addWidget(self.diff)
        self.buttons = QDialogButtonBox()
        self.check_button = self.buttons.addButton(
            tr("yaml.dry_run"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.apply_button = self.buttons.addButton(
            tr("yaml.apply"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        close = self.buttons.addButton(tr("button.close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.check_button.clicked.connect(self.dry_run)
        self.apply_button.clicked.connect(self.apply)
        close.clicked.connect(self.reject)
        self.apply_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        nursery.start_soon(self._load)

    async def _load(self) -> None:
        outcome = await self.ops.run(self.handle.name, self._command("yaml"))
        if outcome.ok:
            self.editor.setPlainText(str(outcome.data["yaml"]))
        self._show(outcome)

    def _command(self, action: str) -> Command:
        params = {} if action == "yaml" else {"yaml": self.editor.toPlainText()}
        return Command(action, self.target.kind, self.target.namespace, self.target.name, params)

    def _edited(self) -> None:
        self.apply_button.setEnabled(self.editor.toPlainText() == self._checked_text)

    def _show(self, outcome: Outcome) -> None:
        self.status.setText(outcome.text(self.language.code))
        self.status.setStyleSheet("" if outcome.ok else "color: #d64545;")

    def dry_run(self) -> None:
        text = self.editor.toPlainText()

        async def check() -> None:
            outcome = await self.ops.run(self.handle.name, self._command("apply-dry-run"))
            self.diff.setPlainText(str(outcome.data.get("diff", "")))
            self._show(outcome)
            self._checked_text = text if outcome.ok else None
            self._edited()

        self.nursery.start_soon(check)

    def apply(self) -> None:
        if self.editor.toPlainText() != self._checked_text:
            return
        self.apply_button.setEnabled(False)

        async def run() -> None:
            outcome = await self.ops.run(self.handle.name, self._command("apply"))
            self._show(outcome)
            self._checked_text = None

        self.nursery.start_soon(run)
