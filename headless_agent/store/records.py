"""What the store keeps besides node metrics, as plain frozen records.

These are the store's own shapes (what a history view or an exporter reads back), apart
from the live engine's records: an anomaly episode spans app restarts, an event is the
deduplicated history of one Kubernetes Event object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headless_agent.detect.anomaly import Severity, anomaly_text


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """A cluster the history knows: its identity key, current and earlier names."""

    identity: str
    display_name: str
    names: tuple[str, ...]
    first_seen: float
    last_seen: float


#: every kind of step an anomaly episode's life can have (``EpisodeTransition.type``)
EPISODE_STEPS = ("opened", "updated", "resolved", "continued", "resolved_unseen")


@dataclass(frozen=True, slots=True)
class EpisodeTransition:
    at: float
    #: opened | updated | resolved; continued: still going on when AtlHyper started
    #: watching again; resolved_unseen: it ended while AtlHyper was not watching
    #: (``HistoryStore.reconcile_open_anomalies``), at some moment before ``at``
    type: str
    severity: Severity
    message: str  # in English, as detection phrased it then
    message_id: str  # with ``params``: the catalog message, to show in any language
    params: tuple[tuple[str, str], ...]
    count: int


@dataclass(frozen=True, slots=True)
class AnomalyEpisode:
    """One anomaly from opened to resolved (``resolved_at`` None: still open)."""

    cluster: str
    kind: str
    namespace: str
    name: str
    reason: str
    severity: Severity
    message: str
    message_id: str
    params: tuple[tuple[str, str], ...]
    first_seen: float
    last_seen: float
    resolved_at: float | None
    count: int
    members: tuple[str, ...]
    transitions: tuple[EpisodeTransition, ...]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def ended_unseen(self) -> bool:
        """It ended while AtlHyper was not watching (the end is known only roughly)."""
        return bool(self.transitions) and self.transitions[-1].type == "resolved_unseen"

    def text(self, language: str) -> str:
        """The latest message of the episode in a language."""
        return anomaly_text(self.message_id, self.params, self.count, language)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One Warning event, deduplicated by its identity (the Event object's UID)."""

    cluster: str
    key: str
    namespace: str
    name: str
    reason: str
    message: str
    object_kind: str
    object_namespace: str
    object_name: str
    object_uid: str
    count: int
    first_seen: float | None
    last_seen: float | None
    source: str


@dataclass(frozen=True, slots=True)
class PodRestartObservation:
    """A pod's restart count as seen at ``observed_at`` (the sum over its containers)."""

    pod_uid: str
    namespace: str
    pod: str
    restart_count: int
    observed_at: float
    owner_kind: str = ""
    owner_name: str = ""
    node: str = ""
    last_reason: str = ""
    last_restart_at: float | None = None


@dataclass(frozen=True, slots=True)
class PodRestart:
    """A stored change of a pod's restart count; ``increase`` is the restarts it adds."""

    cluster: str
    observation: PodRestartObservation
    increase: int


@dataclass(frozen=True, slots=True)
class SloWindow:
    """Good and total events of one SLO in one window.

    The SLO engine (``headless_agent.slo``) writes one per Ingress target (``slo`` is
    "host/path") and minute, and the store keeps an hourly rollup of them (``window_seconds``
    3600) beside: ``good`` counts the requests that were not 5xx; ``statuses`` holds the
    requests by status code and ``latency`` the cumulative latency buckets (upper bound in
    seconds, requests no slower), so that any objective and percentile can be computed again.
    """

    slo: str
    window_start: float
    window_seconds: float
    good: float
    total: float
    statuses: tuple[tuple[str, float], ...] = ()
    latency: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operation a user started: who, where, what, on what, and how it ended.

    Parameters whose names look like credentials are redacted when the entry is written
    (``audit.redact``); still, never put secret values in ``parameters`` or ``detail``.
    """

    at: float
    actor: str  # the OS user (or the agent token's name) who asked
    action: str  # scale, rollout-restart, drain, ...
    outcome: str  # succeeded | failed | refused
    cluster: str | None = None
    target_kind: str = ""
    target_namespace: str = ""
    target_name: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""
    #: the Kubernetes identity the API server saw (SelfSubjectReview), or the agent's
    identity: str = ""
    #: how the cluster was reached: "context NAME", "agent URL"
    via: str = ""
    error: str = ""
    duration: float | None = None
    #: the command's idempotency key: a retried command is one entry
    request_key: str = ""
    #: the entry's place in the chain (set when read back; not part of equality)
    sequence: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OutboxAlert:
    """An alert waiting for (or done with) delivery on one channel (filled by the alerts
    issue). ``(channel, dedup_key)`` identifies it: enqueuing it twice keeps one."""

    channel: str
    dedup_key: str
    payload: Mapping[str, Any]
    created_at: float
    state: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: str = ""
    delivered_at: float | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    """No notifications for anomalies that match, until ``expires_at``. An empty matcher
    matches anything; ``id`` is set when read back."""

    created_at: float
    expires_at: float
    cluster: str = ""
    namespace: str = ""
    name: str = ""
    reason: str = ""
    created_by: str = ""
    comment: str = ""
    id: int | None = field(default=None, compare=False)

    def matches(self, cluster: str, namespace: str, name: str, reason: str, at: float) -> bool:
        return (
            self.created_at <= at < self.expires_at
            and self.cluster in ("", cluster)
            and self.namespace in ("", namespace)
            and self.name in ("", name)
            and self.reason in ("", reason)
        )
