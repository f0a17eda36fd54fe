"""The command palette (Ctrl+K): type a few letters of any view, cluster, namespace, object
or command, press Enter.

Matching is by words: every word typed must appear in the entry (any case, any order);
entries whose text starts with the first word come first, then shorter ones. Tens of
thousands of objects stay instant because each test is a substring search done in C.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: entries shown at most (the rest are reached by typing more)
SHOWN = 200


@dataclass(frozen=True)
class Entry:
    #: what it is, in the UI's language ("Go to", "Cluster", "Pod", ...)
    category: str
    #: its name
    text: str
    run: Callable[[], None]

    @property
    def label(self) -> str:
        return f"{self.category}: {self.text}"


def matching(entries: Sequence[Entry], query: str, limit: int = SHOWN) -> list[Entry]:
    return _matching([(e.label.lower(), e) for e in entries], query, limit)


def _matching(indexed: Sequence[tuple[str, Entry]], query: str, limit: int) -> list[Entry]:
    words = query.lower().split()
    if not words:
        return [entry for _, entry in indexed[:limit]]
    found = [entry for label, entry in indexed if all(word in label for word in words)]
    first = words[0]
    found.sort(key=lambda e: (not e.text.lower().startswith(first), len(e.label)))
    return found[:limit]


class CommandPalette(QDialog):
    def __init__(self, entries: Sequence[Entry], placeholder: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint)
        self.entries = list(entries)
        self._indexed = [(e.label.lower(), e) for e in self.entries]
        self.query = QLineEdit()
        self.query.setPlaceholderText(placeholder)
        self.query.textChanged.connect(self._refill)
        self.query.installEventFilter(self)
        self.list = QListWidget()
        self.list.itemActivated.connect(self._run_item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.query)
        layout.addWidget(self.list)
        width = max(560, parent.width() // 2)
        self.resize(width, 420)
        self.move(parent.mapToGlobal(parent.rect().center()) - self.rect().center())
        self.move(self.x(), parent.mapToGlobal(parent.rect().topLeft()).y() + 80)
        self._refill("")

    def _refill(self, query: str) -> None:
        self.list.clear()
        for entry in _matching(self._indexed, query, SHOWN):
            item = QListWidgetItem(entry.label)
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def shown_labels(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Arrows move in the list while the typing stays in the field.
        pressed = isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress
        if watched is self.query and pressed:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.run_current()
                return True
        return super().eventFilter(watched, event)

    def run_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._run_item(item)

    def _run_item(self, item: QListWidgetItem) -> None:
        entry: Entry = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        entry.run()
