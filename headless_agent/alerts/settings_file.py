"""Where the alerting settings live, what applies without a file, and saving an edited one.

Headless mode is given its file (``--alerts``); the desktop app reads the same format from
the user's configuration folder and edits it in place. Without a file the desktop still
tells its user about critical anomalies, on the desktop only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from headless_agent.alerts.config import (
    AlertConfig,
    Channel,
    ConfigProblems,
    Grouping,
    Rule,
    load_config,
)
from headless_agent.detect.anomaly import Severity

#: what a new file starts as: the built-in behaviour, and the other channels commented out
TEMPLATE = """\
# AtlHyper alert rules and channels (docs/ALERTS.md). Secrets never go in this file:
# use password_env / password_file, secret_env, url_env (a file must be chmod 600).

[grouping]
group_wait = "10s"
group_interval = "5m"
repeat_interval = "4h"

[[channels]]
name = "desktop"
type = "desktop"

# [[channels]]
# name = "ops-mail"
# type = "smtp"
# language = "en"
# host = "smtp.example.com"
# port = 587
# security = "starttls"
# username = "alerts"
# password_env = "ATLHYPER_SMTP_PASSWORD"
# sender = "atlhyper@example.com"
# to = ["oncall@example.com"]

[[rules]]
name = "critical"
channels = ["desktop"]
severity = "critical"
"""


#: the file's name in the user's configuration folder
FILE_NAME = "alerts.toml"


def default_alerts_path() -> Path:
    return platformdirs.user_config_path("atlhyper") / FILE_NAME


def desktop_defaults() -> AlertConfig:
    """No file: a desktop notification for every new critical anomaly (as ``TEMPLATE``)."""
    channel = Channel("desktop", "desktop")
    rule = Rule("critical", ("desktop",), Severity.CRITICAL)
    return AlertConfig({"desktop": channel}, (rule,), Grouping(group_wait=10.0))


def check_text(text: str, folder: Path, environ: Mapping[str, str] | None = None) -> AlertConfig:
    """Check settings not yet saved; raises ``ConfigProblems`` as ``load_config`` does.
    (Read through a private file in ``folder``, so relative secret files resolve alike.)"""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=".alerts-check-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        return load_config(name, environ)
    finally:
        os.unlink(name)


def save_text(path: Path, text: str) -> None:
    """Replace the file at once (never half-written), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=".alerts-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, 0o600)
        os.replace(name, path)
    except BaseException:
        os.unlink(name)
        raise


def load_or_defaults(path: Path) -> tuple[AlertConfig, list[str]]:
    """The file's settings, or the built-in ones with the file's problems (the desktop
    keeps running and shows them)."""
    if not path.exists():
        return desktop_defaults(), []
    try:
        return load_config(path), []
    except ConfigProblems as problems:
        return desktop_defaults(), problems.problems
