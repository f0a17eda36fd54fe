"""The dialog every operation goes through: parameters, preview, confirmation, result.

It shows what will change and where (cluster, context or agent), asks for a second
confirmation in a protected namespace, runs the command through the engine's one command
path (in the trio guest, so the window stays live), and shows how it ended in the UI
language (the engine says it as a catalog message; the dialog renders it). The same
command key is kept while the dialog is open, so pressing Run again after a lost answer
never runs it twice.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import replace
from typing import Any

import trio
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from headless_agent.hub import ClusterHandle
from headless_agent.i18n import Message
from headless_agent.ops.commands import Command, Outcome
from headless_agent.ops.preview import preview
from headless_agent.ops.runner import Operations

_RED, _GREEN, _AMBER = "#d64545", "#2e9e5b", "#d98b1c"


class OperationDialog(QDialog):
    finished_with = Signal(object)  # the Outcome

    def __init__(
        self,
        language: Language,
        ops: Operations,
        handle: ClusterHandle,
        command: Command,
        nursery: trio.Nursery,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("operationDialog")
        self.language = language
        self.ops = ops
        self.handle = handle
        self.nursery = nursery
        self.command = replace(command, key=uuid.uuid4().hex)
        self.outcome: Outcome | None = None
        self._running = False
        tr = language.tr
        self.setWindowTitle(tr(f"action.{command.action}"))
        self.setMinimumWidth(520)

        self.fields: dict[str, QWidget] = {}
        form = QFormLayout()
        if command.action == "scale":
            replicas = QSpinBox()
            replicas.setRange(0, 10_000)
            replicas.setValue(int(command.params.get("replicas", 1)))
            replicas.valueChanged.connect(self._refresh)
            self.fields["replicas"] = replicas
            form.addRow(tr("field.replicas"), replicas)
        elif command.action == "set-image":
            container = QLineEdit(str(command.params.get("container", "")))
            image = QLineEdit(str(command.params.get("image", "")))
            for widget in (container, image):
                widget.textChanged.connect(self._refresh)
            self.fields.update(container=container, image=image)
            form.addRow(tr("field.container"), container)
            form.addRow(tr("field.image"), image)
        elif command.action == "drain":
            timeout = QSpinBox()
            timeout.setRange(1, 3600)
            timeout.setValue(int(command.params.get("timeout", 120)))
            timeout.setSuffix(tr("field.seconds_suffix"))
            timeout.valueChanged.connect(self._refresh)
            self.fields["timeout"] = timeout
            form.addRow(tr("field.timeout"), timeout)
        elif command.action == "exec":
            line = QLineEdit(str(command.params.get("command", "")))
            line.textChanged.connect(self._refresh)
            self.fields["command"] = line
            form.addRow(tr("field.command"), line)
        elif command.action == "delete-pod":
            force = QCheckBox(tr("field.force"))
            force.toggled.connect(self._refresh)
            self.fields["force"] = force
            form.addRow("", force)

        self.change = QLabel()
        self.change.setWordWrap(True)
        self.change.setProperty("dynamic", True)
        self.change.setStyleSheet("font-weight: 600;")
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setProperty("dynamic", True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setProperty("dynamic", True)
        self.warnings.setStyleSheet(f"color: {_AMBER};")
        self.confirm_protected = QCheckBox(tr("confirm.protected"))
        self.confirm_protected.toggled.connect(self._refresh)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setProperty("dynamic", True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.run_button = self.buttons.addButton(
            tr("button.run"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.close_button = self.buttons.addButton(
            tr("button.close"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.run_button.clicked.connect(self.run)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.change)
        layout.addWidget(self.where)
        layout.addWidget(self.warnings)
        layout.addWidget(self.confirm_protected)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)
        self._refresh()

    # --- the command as the fields say -------------------------------------------------------

    def current_command(self) -> Command:
        params: dict[str, Any] = dict(self.command.params)
        for name, widget in self.fields.items():
            if isinstance(widget, QSpinBox):
                params[name] = widget.value()
            elif isinstance(widget, QLineEdit):
                params[name] = widget.text().strip()
            elif isinstance(widget, QCheckBox):
                params[name] = widget.isChecked()
        if self.command.action == "exec" and isinstance(params.get("command"), str):
            try:
                params["command"] = shlex.split(params["command"])
            except ValueError:
                params["command"] = []
        return replace(
            self.command, params=params, confirm_protected=self.confirm_protected.isChecked()
        )

    def _render(self, message: Message) -> str:
        message_id, params = message
        return self.language.tr(message_id, **params)

    def _refresh(self) -> None:
        command = self.current_command()
        seen = preview(self.ops, self.handle, replace(command, confirm_protected=False))
        self.change.setText(self._render(seen.change))
        self.where.setText(self._render(seen.where))
        self.warnings.setText("\n".join(self._render(w) for w in seen.warnings))
        self.warnings.setVisible(bool(seen.warnings))
        self.confirm_protected.setVisible(seen.protected)
        blocked = seen.refusal is not None or (
            seen.protected and not self.confirm_protected.isChecked()
        )
        if seen.refusal is not None:
            self.result.setText(self._render(seen.refusal))
            self.result.setStyleSheet(f"color: {_RED};")
        self.run_button.setEnabled(not blocked and not self._running and self.outcome is None)

    # --- running -------------------------------------------------------------------------------

    def run(self) -> None:
        if self._running or self.outcome is not None:
            return
        self._running = True
        self.run_button.setEnabled(False)
        for widget in self.fields.values():
            widget.setEnabled(False)
        self.result.setText(self.language.tr("operation.running"))
        self.result.setStyleSheet("")
        self.nursery.start_soon(self._run, self.current_command())

    async def _run(self, command: Command) -> None:
        outcome = await self.ops.run(self.handle.name, command, progress=self._progress)
        self._running = False
        self.outcome = outcome
        colour = _GREEN if outcome.ok else _RED
        self.result.setStyleSheet(f"color: {colour};")
        self.result.setText(outcome.text(self.language.code))
        self.close_button.setText(self.language.tr("button.close"))
        self.finished_with.emit(outcome)

    def _progress(self, said: Message) -> None:
        self.result.setText(self._render(said))
