"""First run with no kubeconfig: explore the demo fleet, add a kubeconfig file, or connect
to an agent (URL and token, tested before it is added). What is added is remembered."""

from __future__ import annotations

from pathlib import Path

import trio
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.language import Language
from desktop.preferences import Preferences
from headless_agent.agent.client import AgentTarget, check_agent
from headless_agent.hub import Hub
from headless_agent.kube.kubeconfig import KubeconfigSet, load_kubeconfigs

_OK = "color: #2e9e5b;"
_BAD = "color: #d64545;"


class WelcomeDialog(QDialog):
    def __init__(
        self,
        language: Language,
        preferences: Preferences,
        hub: Hub,
        nursery: trio.Nursery,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.preferences = preferences
        self.hub = hub
        self.nursery = nursery
        self.window_ = parent
        tr = language.tr
        self.setWindowTitle(tr("welcome.title"))
        self.resize(560, 360)

        intro = QLabel(tr("welcome.intro"))
        intro.setWordWrap(True)
        self.demo_button = QPushButton(tr("welcome.demo"))
        self.demo_button.clicked.connect(self.accept)
        self.kubeconfig_button = QPushButton(tr("welcome.kubeconfig"))
        self.kubeconfig_button.clicked.connect(self._ask_kubeconfig)
        self.agent_button = QPushButton(tr("welcome.agent"))
        self.agent_button.clicked.connect(lambda: self.pages.setCurrentIndex(1))
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setProperty("dynamic", True)  # paths and a server's words
        choices = QWidget()
        choice_layout = QVBoxLayout(choices)
        choice_layout.addWidget(intro)
        for button in (self.demo_button, self.kubeconfig_button, self.agent_button):
            choice_layout.addWidget(button)
        choice_layout.addStretch(1)

        self.agent_name = QLineEdit()
        self.agent_url = QLineEdit()
        self.agent_url.setPlaceholderText("https://agent.example.com:8443")
        self.agent_token = QLineEdit()
        self.agent_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.agent_ca = QLineEdit()
        self.agent_ca.setPlaceholderText(tr("welcome.agent_ca_hint"))
        form = QFormLayout()
        form.addRow(tr("welcome.agent_name"), self.agent_name)
        form.addRow(tr("welcome.agent_url"), self.agent_url)
        form.addRow(tr("welcome.agent_token"), self.agent_token)
        form.addRow(tr("welcome.agent_ca"), self.agent_ca)
        self.test_button = QPushButton(tr("welcome.test"))
        self.test_button.clicked.connect(self.test_agent)
        self.connect_button = QPushButton(tr("welcome.connect"))
        self.connect_button.clicked.connect(self.connect_agent)
        back = QPushButton(tr("welcome.back"))
        back.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.connect_button)
        agent_page = QWidget()
        agent_layout = QVBoxLayout(agent_page)
        agent_layout.addLayout(form)
        agent_layout.addStretch(1)
        agent_layout.addLayout(buttons)

        self.pages = QStackedWidget()
        self.pages.addWidget(choices)
        self.pages.addWidget(agent_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.result)

    def _say(self, text: str, style: str) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(style)

    # --- a kubeconfig file ---------------------------------------------------------------------

    def _ask_kubeconfig(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.language.tr("welcome.kubeconfig"))
        if path:
            self.add_kubeconfig(Path(path))

    def add_kubeconfig(self, path: Path) -> KubeconfigSet | None:
        """Offer the file's contexts in the sidebar and remember the file; None (and the
        reason shown) if it has none."""
        tr = self.language.tr
        try:
            kubeconfigs = load_kubeconfigs([path])
        except (OSError, ValueError) as error:
            self._say(tr("welcome.kubeconfig_failed", path=str(path), error=str(error)), _BAD)
            return None
        if not kubeconfigs.contexts:
            self._say(tr("welcome.kubeconfig_empty", path=str(path)), _BAD)
            return None
        files = self.preferences.kubeconfig_files
        if str(path) not in files:
            self.preferences.kubeconfig_files = [*files, str(path)]
            self.preferences.sync()
        self.window_.offer_contexts(kubeconfigs, [])  # type: ignore[attr-defined]
        self._say(tr("welcome.kubeconfig_added", count=len(kubeconfigs.contexts)), _OK)
        self.accept()
        return kubeconfigs

    # --- an agent ------------------------------------------------------------------------------

    def _target(self) -> AgentTarget | None:
        url, token = self.agent_url.text().strip(), self.agent_token.text().strip()
        if not self.agent_name.text().strip() or not url.startswith(("https://", "http://")):
            self._say(self.language.tr("welcome.agent_incomplete"), _BAD)
            return None
        if not token:
            self._say(self.language.tr("welcome.agent_incomplete"), _BAD)
            return None
        return AgentTarget(url, token, ca_file=self.agent_ca.text().strip() or None)

    def test_agent(self) -> None:
        target = self._target()
        if target is None:
            return
        tr = self.language.tr
        self._say(tr("welcome.testing"), "")
        self.test_button.setEnabled(False)

        async def test() -> None:
            try:
                found = await check_agent(target)
            finally:
                self.test_button.setEnabled(True)
            if found.ok:
                self._say(tr("welcome.agent_ok", state=tr(f"state.{found.state}")), _OK)
            else:
                self._say(tr("welcome.agent_failed", error=found.detail), _BAD)

        self.nursery.start_soon(test)

    def connect_agent(self) -> None:
        """Watch the agent's cluster, and remember it (its token in a private file)."""
        target = self._target()
        if target is None:
            return
        name = self.agent_name.text().strip()
        if name in self.hub.clusters:
            self._say(self.language.tr("welcome.agent_exists", name=name), _BAD)
            return
        token_file = self.preferences.save_token(name, target.token)
        agent = {"name": name, "url": target.url, "ca_file": target.ca_file or ""}
        self.preferences.agents = [
            *(a for a in self.preferences.agents if a.get("name") != name),
            {**agent, "token_file": str(token_file)},
        ]
        self.preferences.sync()
        self.hub.watch_agent(name, target)
        self.accept()
