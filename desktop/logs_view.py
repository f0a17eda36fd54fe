"""A container's logs: container switch, previous instance, follow, pause, search, wrap.

Following asks for the lines since the last one shown (with the API server's timestamps,
so nothing repeats) every few seconds; the buffer keeps the newest ``MAX_LINES`` lines.
Fetching is an ordinary read through the command path.
"""

from __future__ import annotations

import trio
from PySide6.QtGui import QFont, QFontDatabase, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from headless_agent.hub import ClusterHandle
from headless_agent.ops.commands import Command
from headless_agent.ops.runner import Operations
from headless_agent.state.records import PodRecord

MAX_LINES = 50_000
FOLLOW_SECONDS = 2.0
FIRST_TAIL = 1000


class LogsDialog(QDialog):
    def __init__(
        self,
        language: Language,
        ops: Operations,
        handle: ClusterHandle,
        pod: PodRecord,
        nursery: trio.Nursery,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("logsDialog")
        self.language, self.ops, self.handle, self.pod = language, ops, handle, pod
        tr = language.tr
        self.setWindowTitle(tr("logs.title", pod=f"{pod.namespace}/{pod.name}"))
        self.resize(1000, 650)
        self._last_stamp = ""
        self._scope = trio.CancelScope()
        self.container = QComboBox()
        for state in pod.containers:
            self.container.addItem(state.name)
        self.previous = QCheckBox(tr("logs.previous"))
        self.follow = QCheckBox(tr("logs.follow"))
        self.follow.setChecked(True)
        self.paused = QCheckBox(tr("logs.pause"))
        self.wrap = QCheckBox(tr("logs.wrap"))
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(tr("logs.search"))
        self.search.returnPressed.connect(self.find_next)
        self.status = QLabel()
        self.status.setProperty("dynamic", True)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setStyleHint(QFont.StyleHint.Monospace)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(fixed)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.wrap.toggled.connect(
            lambda on: self.text.setLineWrapMode(
                QPlainTextEdit.LineWrapMode.WidgetWidth
                if on
                else QPlainTextEdit.LineWrapMode.NoWrap
            )
        )
        for control in (self.container, self.previous):
            signal = control.currentIndexChanged if control is self.container else control.toggled
            signal.connect(self.restart)
        top = QHBoxLayout()
        top.addWidget(self.container)
        for widget in (self.previous, self.follow, self.paused, self.wrap):
            top.addWidget(widget)
        top.addWidget(self.search, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)
        self.nursery = nursery
        self.restart()

    def restart(self) -> None:
        self._scope.cancel()
        self._scope = trio.CancelScope()
        self._last_stamp = ""
        self.text.clear()
        self.nursery.start_soon(self._fetch_loop, self._scope)

    def done(self, result: int) -> None:
        self._scope.cancel()
        super().done(result)

    async def _fetch_loop(self, scope: trio.CancelScope) -> None:
        with scope:
            while True:
                if not self.paused.isChecked():
                    await self._fetch()
                done_once = bool(self._last_stamp) or self.text.blockCount() > 1
                if done_once and (not self.follow.isChecked() or self.previous.isChecked()):
                    return  # a previous instance's logs do not grow
                await trio.sleep(FOLLOW_SECONDS)

    async def _fetch(self) -> None:
        params: dict[str, object] = {"timestamps": True, "container": self.container.currentText()}
        if self.previous.isChecked():
            params["previous"] = True
        if self._last_stamp:
            params["since_time"] = self._last_stamp
        else:
            params["tail"] = FIRST_TAIL
        command = Command("logs", "Pod", self.pod.namespace, self.pod.name, params)
        outcome = await self.ops.run(self.handle.name, command)
        if not outcome.ok:
            self.status.setText(outcome.text(self.language.code))
            self.status.setStyleSheet("color: #d64545;")
            return
        self.status.setStyleSheet("")
        fresh = []
        for line in str(outcome.data["text"]).splitlines():
            stamp, _, rest = line.partition(" ")
            if self._last_stamp and stamp <= self._last_stamp:
                continue  # asked from the last line's time: that line comes again
            fresh.append(rest)
            self._last_stamp = stamp
        if fresh:
            self.text.appendPlainText("\n".join(fresh))
        self.status.setText(
            self.language.tr(
                "logs.lines", count=self.text.blockCount() - 1 if self.text.toPlainText() else 0
            )
        )

    def find_next(self) -> None:
        needle = self.search.text()
        if needle and not self.text.find(needle):
            self.text.moveCursor(self.text.textCursor().MoveOperation.Start)
            self.text.find(needle, QTextDocument.FindFlag(0))
