"""What the desktop remembers between runs: language, theme, notifications, the window's
geometry, the tab in view, and each table's columns (order, widths, sort).

Kept in an INI file in the user's config folder through QSettings (plain text a user can
read or delete). ``Preferences(None)`` remembers nothing — for tests and the self-test.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QHeaderView, QMainWindow, QSplitter

FILE_NAME = "desktop.ini"


def default_path() -> Path:
    return platformdirs.user_config_path("atlhyper") / FILE_NAME


class Preferences:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._settings = (
            QSettings(str(path), QSettings.Format.IniFormat) if path is not None else None
        )
        self._memory: dict[str, object] = {}

    # --- plain values ------------------------------------------------------------------------

    def _get(self, key: str, default: object) -> object:
        if self._settings is None:
            return self._memory.get(key, default)
        return self._settings.value(key, default)

    def _set(self, key: str, value: object) -> None:
        if self._settings is None:
            self._memory[key] = value
        else:
            self._settings.setValue(key, value)

    @property
    def language(self) -> str | None:
        """A language code, or None to follow the system."""
        value = self._get("general/language", "")
        return str(value) or None

    @language.setter
    def language(self, code: str | None) -> None:
        self._set("general/language", code or "")

    @property
    def theme(self) -> str:
        return str(self._get("general/theme", "system"))

    @theme.setter
    def theme(self, choice: str) -> None:
        self._set("general/theme", choice)

    @property
    def notifications(self) -> bool:
        value = self._get("general/notifications", True)
        return value in (True, "true", "1", 1)

    @notifications.setter
    def notifications(self, on: bool) -> None:
        self._set("general/notifications", on)

    # --- clusters added in the app ------------------------------------------------------------

    @property
    def kubeconfig_files(self) -> list[str]:
        """Kubeconfig files added in the app, read besides kubectl's own."""
        value = self._get("clusters/kubeconfig_files", "[]")
        try:
            files = json.loads(str(value))
        except ValueError:
            return []
        return [str(f) for f in files] if isinstance(files, list) else []

    @kubeconfig_files.setter
    def kubeconfig_files(self, files: list[str]) -> None:
        self._set("clusters/kubeconfig_files", json.dumps(files))

    @property
    def agents(self) -> list[dict[str, str]]:
        """Agents added in the app: name, url, ca_file and the file holding the token (the
        token itself is never in this file)."""
        value = self._get("clusters/agents", "[]")
        try:
            agents = json.loads(str(value))
        except ValueError:
            return []
        return [a for a in agents if isinstance(a, dict)] if isinstance(agents, list) else []

    @agents.setter
    def agents(self, agents: list[dict[str, str]]) -> None:
        self._set("clusters/agents", json.dumps(agents))

    def forget_agents(self, names: list[str]) -> None:
        """Drop these agents, and their token files with them."""
        for agent in self.agents:
            if agent.get("name") in names and agent.get("token_file"):
                Path(agent["token_file"]).unlink(missing_ok=True)
        self.agents = [a for a in self.agents if a.get("name") not in names]

    @property
    def extra_path(self) -> list[str]:
        """Folders searched for kubeconfig credential plugins, besides PATH."""
        value = self._get("clusters/extra_path", "[]")
        try:
            folders = json.loads(str(value))
        except ValueError:
            return []
        return [str(f) for f in folders] if isinstance(folders, list) else []

    @extra_path.setter
    def extra_path(self, folders: list[str]) -> None:
        self._set("clusters/extra_path", json.dumps(folders))

    def save_token(self, name: str, token: str) -> Path:
        """Keep an agent's token in a file only the user can read; returns its path."""
        if self.path is not None:
            folder = self.path.parent / "agents"
        else:  # nothing is kept: a folder for this run only
            folder = Path(tempfile.mkdtemp(prefix="atlhyper-agents-"))
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        path = folder / f"{name}.token"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(token + "\n")
        return path

    # --- the window --------------------------------------------------------------------------

    def save_window(self, window: QMainWindow, splitter: QSplitter, tab: int) -> None:
        self._set("window/geometry", window.saveGeometry())
        self._set("window/splitter", splitter.saveState())
        self._set("window/tab", tab)

    def restore_window(self, window: QMainWindow, splitter: QSplitter) -> int:
        """Put the window back as it was; returns the tab that was in view."""
        geometry = self._get("window/geometry", None)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        state = self._get("window/splitter", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)
        try:
            return int(str(self._get("window/tab", 0)))
        except ValueError:
            return 0

    def save_table(self, key: str, header: QHeaderView) -> None:
        self._set(f"tables/{key}", header.saveState())

    def restore_table(self, key: str, header: QHeaderView) -> None:
        state = self._get(f"tables/{key}", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            header.restoreState(state)

    def sync(self) -> None:
        if self._settings is not None:
            self._settings.sync()
