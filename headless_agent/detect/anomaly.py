"""What detection produces: anomalies with a stable key and their transitions."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from headless_agent import i18n


class Severity(enum.IntEnum):
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True, order=True)
class AnomalyKey:
    """Stable identity: one problem of one object (or of one owner's pods)."""

    cluster: str
    kind: str
    namespace: str
    name: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.cluster}: {self.kind} {where} {self.reason}"


@dataclass(frozen=True, slots=True)
class Anomaly:
    key: AnomalyKey
    severity: Severity
    #: what went wrong, as a catalog id and its values (see i18n/): rendered per language
    message_id: str
    params: tuple[tuple[str, str], ...]
    first_seen: float
    last_seen: float
    #: how many objects are affected: the pods of one owner group into one anomaly
    count: int
    members: tuple[str, ...]
    resolved_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def text(self, language: str = i18n.DEFAULT_LANGUAGE) -> str:
        """The message in a language; grouped pods say how many are affected."""
        return anomaly_text(self.message_id, self.params, self.count, language)

    @property
    def message(self) -> str:
        """In English, for logs and for whatever has no language of its own."""
        return self.text()


def anomaly_text(
    message_id: str, params: tuple[tuple[str, str], ...], count: int, language: str
) -> str:
    """An anomaly's message in a language, live or from history."""
    detail = i18n.message(language, message_id, **dict(params))
    if count > 1:
        return i18n.plural(language, "anomaly.group", "anomaly.group.plural", count, detail=detail)
    return detail


class TransitionType(enum.Enum):
    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    type: TransitionType
    anomaly: Anomaly
    #: when it happened, if not just now (an agent relaying what it saw earlier)
    at: float | None = None
