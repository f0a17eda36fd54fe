"""Where the history file lives: the setting, else ``ATLHYPER_DB``, else the platform's data
directory (``~/.local/share/atlhyper`` on Linux, ``~/Library/Application Support/AtlHyper``
on macOS, ``%LOCALAPPDATA%\\AtlHyper`` on Windows) as platformdirs defines it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

ENVIRONMENT_VARIABLE = "ATLHYPER_DB"
FILE_NAME = "history.sqlite3"


def default_history_path(
    setting: str | os.PathLike[str] | None = None,
    *,
    environment: Mapping[str, str] | None = None,
) -> Path:
    """The history file's path: an explicit setting wins, then ``ATLHYPER_DB``."""
    if setting:
        return Path(setting).expanduser()
    env = os.environ if environment is None else environment
    override = env.get(ENVIRONMENT_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("AtlHyper", appauthor=False)) / FILE_NAME
