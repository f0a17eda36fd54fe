"""Settings: the General page (language, theme, desktop notifications) and every page
registered through ``desktop.extensions``; applied at once, kept for the next run."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import desktop.settings_pages  # noqa: F401  (registers the Clusters and History pages)
from desktop.extensions import REGISTRY, SettingsPage, ViewContext
from desktop.language import Language
from desktop.preferences import Preferences
from desktop.theme import CHOICES, Theme
from headless_agent import i18n


class GeneralPage(QWidget):
    def __init__(self, language: Language, preferences: Preferences) -> None:
        super().__init__()
        tr = language.tr
        self.language_box = QComboBox()
        self.language_box.addItem(tr("settings.follow_system"), "")
        for code in i18n.LANGUAGES:
            self.language_box.addItem(i18n.message(code, f"language.{code}"), code)
        self.language_box.setCurrentIndex(
            max(0, self.language_box.findData(preferences.language or ""))
        )
        self.theme_box = QComboBox()
        for choice in CHOICES:
            self.theme_box.addItem(tr(f"settings.theme.{choice}"), choice)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(preferences.theme)))
        self.notifications = QCheckBox(tr("settings.notifications"))
        self.notifications.setChecked(preferences.notifications)
        form = QFormLayout(self)
        form.addRow(tr("settings.language"), self.language_box)
        form.addRow(tr("settings.theme"), self.theme_box)
        form.addRow("", self.notifications)


class SettingsDialog(QDialog):
    def __init__(
        self,
        language: Language,
        preferences: Preferences,
        theme: Theme | None,
        context: ViewContext | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.preferences = preferences
        self.theme = theme
        self.context = context
        self.setWindowTitle(language.tr("settings.title"))
        self.resize(520, 360)
        self.general = GeneralPage(language, preferences)
        self.pages = QTabWidget()
        self.pages.addTab(self.general, language.tr("settings.general"))
        self.extra: list[tuple[SettingsPage, QWidget]] = []
        for page in REGISTRY.settings_pages:
            widget = page.create(language, context)
            self.extra.append((page, widget))
            self.pages.addTab(widget, language.tr(page.title))
        buttons = QDialogButtonBox()
        buttons.addButton(language.tr("settings.apply"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(language.tr("button.cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(buttons)

    def apply(self) -> None:
        general = self.general
        code: Any = general.language_box.currentData()
        self.preferences.language = code or None
        self.language.set(code or i18n.system_language())
        choice = str(general.theme_box.currentData())
        self.preferences.theme = choice
        if self.theme is not None:
            self.theme.set(choice)
        self.preferences.notifications = general.notifications.isChecked()
        for page, widget in self.extra:
            page.apply(widget, self.context)
        self.preferences.sync()
        self.accept()
