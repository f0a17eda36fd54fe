"""Connection state of a cluster, as the sidebar and the alert rules show it.

Each informer reports what it is doing; ``ClusterHealth`` folds those reports into one
state per cluster — connecting, synced, degraded or offline — with the last error in
words and the kinds RBAC hides.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from headless_agent import i18n
from headless_agent.kube.errors import ConfigError, KubeError, TlsError, Unauthorized, Unreachable


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    SYNCED = "synced"
    DEGRADED = "degraded"
    OFFLINE = "offline"


# Errors that mean "this cluster cannot be reached at all", as opposed to one kind failing.
_FATAL = (Unreachable, TlsError, Unauthorized, ConfigError)


@dataclass(slots=True)
class KindStatus:
    phase: str = "listing"  # listing | watching | retrying | forbidden
    error: KubeError | None = None
    objects: int = 0


@dataclass(slots=True)
class HealthSnapshot:
    state: ConnectionState
    last_error: str | None
    last_error_category: str | None
    since: float
    hidden: tuple[str, ...]  # what RBAC hides, in words
    kinds: dict[str, str]
    #: the last error as a catalog message (None when only its English words are known,
    #: as in the health an agent relays)
    last_error_said: i18n.Message | None = None
    #: each ``hidden`` note as catalog messages (parts joined), when the engine knows them
    hidden_said: tuple[tuple[i18n.Message, ...], ...] = ()

    def error_text(self, language: str) -> str | None:
        """The last error in ``language``: the engine's sentence translated, the server's
        or the network's own words kept as they are."""
        if self.last_error_said is not None:
            return i18n.render(language, self.last_error_said)
        return self.last_error

    def hidden_texts(self, language: str) -> tuple[str, ...]:
        """What RBAC hides, in ``language`` (the English notes where no message is known)."""
        if len(self.hidden_said) != len(self.hidden):
            return self.hidden
        separator = i18n.message(language, "status.separator")
        return tuple(
            separator.join(i18n.render(language, part) for part in parts) if parts else note
            for note, parts in zip(self.hidden, self.hidden_said, strict=True)
        )


@dataclass
class ClusterHealth:
    """Aggregates informer reports for one cluster; notifies a listener on each change."""

    cluster: str
    clock: Callable[[], float] = time.time
    on_change: Callable[[HealthSnapshot], None] | None = None
    _kinds: dict[str, KindStatus] = field(default_factory=dict)
    _hidden: dict[str, str] = field(default_factory=dict)
    _hidden_said: dict[str, tuple[i18n.Message, ...]] = field(default_factory=dict)
    _setup_error: KubeError | None = None
    _snapshot: HealthSnapshot | None = None
    _relayed: tuple[ConnectionState, str | None, str | None, tuple[str, ...]] | None = None

    def expect(self, kind_label: str) -> None:
        self._kinds.setdefault(kind_label, KindStatus())
        self._recompute()

    def listing(self, kind_label: str) -> None:
        status = self._kinds.setdefault(kind_label, KindStatus())
        if status.phase != "retrying":
            status.phase = "listing"
        self._recompute()

    def watching(self, kind_label: str, objects: int) -> None:
        status = self._kinds.setdefault(kind_label, KindStatus())
        status.phase, status.error, status.objects = "watching", None, objects
        self._setup_error = None
        self._recompute()

    def failed(self, kind_label: str, error: KubeError) -> None:
        status = self._kinds.setdefault(kind_label, KindStatus())
        status.phase, status.error = "retrying", error
        self._recompute()

    def hidden(self, kind_label: str, note: str, said: tuple[i18n.Message, ...] = ()) -> None:
        """RBAC hides (part of) a kind; ``note`` says what, in English words, and ``said``
        the same as catalog messages (its parts, joined when shown)."""
        self._hidden[kind_label] = note
        self._hidden_said[kind_label] = said
        status = self._kinds.setdefault(kind_label, KindStatus())
        if status.phase != "watching":
            status.phase = "forbidden"
        self._recompute()

    def setup_failed(self, error: KubeError) -> None:
        """The cluster could not even be set up (kubeconfig, credentials, discovery)."""
        self._setup_error = error
        self._recompute()

    def relayed(
        self,
        state: ConnectionState,
        error: str | None,
        category: str | None,
        hidden: tuple[str, ...],
    ) -> None:
        """The health an agent reports of its own informers (the agent is reachable)."""
        self._relayed = (state, error, category, hidden)
        self._setup_error = None
        self._recompute()

    def forget(self, kind_label: str) -> None:
        self._kinds.pop(kind_label, None)
        self._recompute()

    @property
    def snapshot(self) -> HealthSnapshot:
        if self._snapshot is None:
            self._recompute()
        assert self._snapshot is not None
        return self._snapshot

    def _recompute(self) -> None:
        kinds = self._kinds
        errors = [s.error for s in kinds.values() if s.phase == "retrying" and s.error]
        active = [s for s in kinds.values() if s.phase != "forbidden"]
        last_error: KubeError | None = self._setup_error or (errors[-1] if errors else None)
        all_fatal = bool(errors) and all(isinstance(e, _FATAL) for e in errors)
        watching = any(s.phase == "watching" for s in active)
        if self._setup_error is not None or (all_fatal and not watching):
            state = ConnectionState.OFFLINE
        elif errors or (self._hidden and active and all(s.phase == "watching" for s in active)):
            state = ConnectionState.DEGRADED
        elif active and all(s.phase == "watching" for s in active):
            state = ConnectionState.SYNCED
        else:
            state = ConnectionState.CONNECTING
        hidden = tuple(self._hidden[k] for k in sorted(self._hidden))
        hidden_said = tuple(self._hidden_said.get(k, ()) for k in sorted(self._hidden))
        last_text = str(last_error) if last_error is not None else None
        category = last_error.category if last_error is not None else None
        if self._relayed is not None and self._setup_error is None:
            state, last_text, category, hidden = self._relayed
            hidden_said = ()  # an agent relays its notes in English
        previous = self._snapshot
        since = previous.since if previous is not None and previous.state == state else self.clock()
        snapshot = HealthSnapshot(
            state=state,
            last_error=last_text,
            last_error_category=category,
            since=since,
            hidden=hidden,
            kinds={k: s.phase for k, s in kinds.items()},
            hidden_said=hidden_said,
            last_error_said=(
                last_error.said()
                if last_error is not None and last_text == str(last_error)
                else None
            ),
        )
        self._snapshot = snapshot
        # Listeners hear of what a user sees change (state, error, hidden kinds), not of
        # every informer moving from listing to watching.
        visible = (snapshot.state, snapshot.last_error, snapshot.hidden)
        seen = None if previous is None else (previous.state, previous.last_error, previous.hidden)
        if visible != seen and self.on_change is not None:
            self.on_change(snapshot)
