"""Every visible text of the main window comes from the catalogs, in each language, and
switching the language re-renders the running window."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from headless_agent import i18n
from tests.gui.conftest import AppFactory
from tests.unit.test_i18n import _catalog

pytestmark = pytest.mark.gui


def _patterns(language: str) -> list[re.Pattern[str]]:
    """Each catalog message of a language as a regex, placeholders matching anything."""
    patterns = []
    for forms in _catalog(language).values():
        for form in forms:
            parts = re.split(r"\{[a-z_]+\}", form)
            patterns.append(re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$", re.S))
    return patterns


def visible_texts(window: MainWindow) -> list[str]:
    """Texts a user reads: labels, buttons, placeholders, tabs, headers, title, combos."""
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.property("dynamic"):
            continue
        if isinstance(widget, QLabel | QAbstractButton) and widget.text():
            texts.append(widget.text())
        if isinstance(widget, QLineEdit) and widget.placeholderText():
            texts.append(widget.placeholderText())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QTabWidget):  # the window's tabs and those inside a view
            texts += [widget.tabText(i) for i in range(widget.count())]
        if isinstance(widget, QTableView) and widget.model() is not None:
            model = widget.model()
            texts += [
                model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())
            ]
    return texts


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_visible_text_is_from_the_catalog(
    running_app: AppFactory, qtbot: QtBot, language: str, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    window.language.set(language)
    qtbot.waitUntil(lambda: window.anomaly_view.model().rowCount() > 0, timeout=10000)
    patterns = _patterns(language)
    for tab in range(window.tabs.count()):  # every view, as the user flips through them
        window.tabs.setCurrentIndex(tab)
        inner = window.tabs.currentWidget().findChildren(QTabWidget)
        for pages in inner:  # and every page of a view that has pages of its own
            for page in range(pages.count()):
                pages.setCurrentIndex(page)
                qtbot.wait(50)
                texts = visible_texts(window)
                strangers = [t for t in texts if not any(p.match(t) for p in patterns)]
                assert strangers == [], (window.tabs.tabText(tab), pages.tabText(page))
        strangers = [t for t in visible_texts(window) if not any(p.match(t) for p in patterns)]
        assert strangers == [], window.tabs.tabText(tab)
    window.tabs.setCurrentIndex(0)
    # Cluster entries: the name, then the state in this language.
    states = {
        i18n.message(language, f"state.{s}")
        for s in ("connecting", "synced", "degraded", "offline")
    }
    for row in range(window.clusters.count()):
        assert window.clusters.item(row).text().splitlines()[1] in states
    # Anomaly texts too: rendered from their message ids in this language.
    model = window.anomaly_view.model()
    messages = [model.index(r, 6).data() for r in range(model.rowCount())]
    assert all(any(p.match(m) for p in patterns) for m in messages), messages


def test_switching_language_rerenders_without_restart(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    assert window.tabs.tabText(1) == "Pods"
    window.language_box.setCurrentIndex(i18n.LANGUAGES.index("ja"))
    assert window.language.code == "ja"
    assert window.pod_filter.placeholderText() == i18n.message("ja", "pods.filter")
    header = window.pod_view.model().headerData(0, Qt.Orientation.Horizontal)
    assert header == "名前空間"
    assert window.clusters.item(0).text().endswith(i18n.message("ja", "state.synced"))
    window.language_box.setCurrentIndex(i18n.LANGUAGES.index("zh"))
    assert window.windowTitle() == i18n.message("zh", "app.title_demo")
