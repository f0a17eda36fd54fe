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
        detail = i18n.message(language, self.message_id, **dict(self.params))
        if self.count > 1:
            return i18n.plural(
                language, "anomaly.group", "anomaly.group.plural", self.count, detail=detail
            )
        return detail

    @property
    def message(self) -> str:
        """In English, for logs and for whatever has no language of its own."""
        return self.text()


class TransitionType(enum.Enum):
    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    type: TransitionType
    anomaly: Anomaly
