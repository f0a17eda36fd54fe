"""The desktop's alerting: the same rules as headless mode, from the user's settings file,
with the tray as one more channel."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from headless_agent.alerts import Alerting
from headless_agent.alerts.delivery import LocalNotify
from headless_agent.alerts.settings_file import default_alerts_path, load_or_defaults
from headless_agent.demo.slo_traffic import OBJECTIVES as DEMO_OBJECTIVES
from headless_agent.hub import Hub


@dataclass
class DesktopAlerts:
    alerting: Alerting
    #: the settings file (it may not exist yet: the built-in settings apply)
    path: Path
    #: what is wrong with the file, when the built-in settings apply because of it
    problems: list[str] = field(default_factory=list)


def open_alerts(hub: Hub, setting: str | None, notify: LocalNotify) -> DesktopAlerts | None:
    """Attach alerting to ``hub`` (before it runs). None without a history file: the
    outbox lives there."""
    if hub.history is None:
        return None
    path = Path(setting).expanduser() if setting else default_alerts_path()
    config, problems = load_or_defaults(path)
    if not config.slos and any(h.is_demo for h in hub.clusters.values()):
        config = replace(config, slos=DEMO_OBJECTIVES)  # the demo shop's own objectives
    alerting = Alerting(config, hub.history, notify=notify)
    alerting.attach(hub)
    return DesktopAlerts(alerting, path, problems)
