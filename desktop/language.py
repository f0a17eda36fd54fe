"""The UI language: one object every view asks for its texts, and which says when it changes.

Switching the language in the running app re-renders every view through ``changed``;
nothing is restarted. Texts come from the shared catalogs (``headless_agent.i18n``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from headless_agent import i18n


class Language(QObject):
    changed = Signal()

    def __init__(self, code: str | None = None) -> None:
        super().__init__()
        self._code = code if code in i18n.LANGUAGES else i18n.system_language()

    @property
    def code(self) -> str:
        return self._code

    def set(self, code: str) -> None:
        if code not in i18n.LANGUAGES:
            raise ValueError(f"unsupported language {code!r}")
        if code != self._code:
            self._code = code
            self.changed.emit()

    def tr(self, message_id: str, **params: Any) -> str:
        return i18n.message(self._code, message_id, **params)

    def duration(self, seconds: float) -> str:
        return i18n.format_duration(seconds, self._code)
