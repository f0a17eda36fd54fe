"""What detection produces: anomalies with a stable key and their transitions."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
    message: str
    first_seen: float
    last_seen: float
    #: how many objects are affected: the pods of one owner group into one anomaly
    count: int
    members: tuple[str, ...]
    resolved_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class TransitionType(enum.Enum):
    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    type: TransitionType
    anomaly: Anomaly
