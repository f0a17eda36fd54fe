"""The Console tab: kubectl's common verbs on the selected cluster, through the same
command path as every dialog (audited, refused in read-only mode and on the demo)."""

from __future__ import annotations

import trio
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.language import Language
from headless_agent.ops.commands import Command
from headless_agent.ops.console import VERBS, outcome_text, run_line
from headless_agent.ops.runner import Operations

#: lines of output kept (older ones scroll away)
MAX_BLOCKS = 20_000


class _Input(QLineEdit):
    """A line edit with a history on the arrow keys, as in a shell."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[str] = []
        self._position = 0

    def remember(self, line: str) -> None:
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._position = len(self.history)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.history:
            step = -1 if event.key() == Qt.Key.Key_Up else 1
            self._position = max(0, min(len(self.history), self._position + step))
            self.setText(self.history[self._position] if self._position < len(self.history) else "")
            return
        super().keyPressEvent(event)


class ConsoleView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._ops: Operations | None = None
        self._nursery: trio.Nursery | None = None
        self._cluster: str | None = None
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_BLOCKS)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setStyleHint(QFont.StyleHint.Monospace)
        self.output.setFont(fixed)
        self.input = _Input()
        self.input.setFont(fixed)
        self.input.returnPressed.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.output, 1)
        layout.addWidget(self.input)
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.hint.setText(self.language.tr("console.hint", verbs=", ".join(VERBS)))
        self.input.setPlaceholderText(self.language.tr("console.placeholder"))

    def attach(self, ops: Operations, nursery: trio.Nursery) -> None:
        self._ops, self._nursery = ops, nursery

    def show_cluster(self, name: str | None) -> None:
        self._cluster = name

    def submit(self) -> None:
        line = self.input.text().strip()
        if not line or self._ops is None or self._nursery is None or self._cluster is None:
            return
        self.input.remember(line)
        self.input.clear()
        self.output.appendPlainText(f"{self._cluster}$ {line}")
        self._nursery.start_soon(self._run, self._ops, self._cluster, line)

    def run_command(self, command: Command) -> None:
        """Run a reading command chosen from a menu (logs, describe, YAML) and show it."""
        if self._ops is None or self._nursery is None or self._cluster is None:
            return
        ops, cluster = self._ops, self._cluster
        self.output.appendPlainText(f"{cluster}$ {command.action} {command.describe_target()}")

        async def run() -> None:
            outcome = await ops.run(cluster, command)
            self.output.appendPlainText(outcome_text(outcome, self.language.code) + "\n")

        self._nursery.start_soon(run)

    async def _run(self, ops: Operations, cluster: str, line: str) -> None:
        _, text = await run_line(ops, cluster, line, language=self.language.code)
        self.output.appendPlainText(text + "\n")
