"""The one place where engine callbacks become Qt signals.

The engine calls plain listeners on the trio thread — which, in guest mode, is the Qt
thread — so emitting signals here is safe and views never poll.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from headless_agent.detect.anomaly import Transition
from headless_agent.hub import Hub
from headless_agent.kube.health import HealthSnapshot


class EngineBridge(QObject):
    cluster_health_changed = Signal(str)
    anomalies_changed = Signal()

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub
        hub.health_listeners.append(self._on_health)
        hub.transition_listeners.append(self._on_transition)

    def _on_health(self, cluster: str, snapshot: HealthSnapshot) -> None:
        self.cluster_health_changed.emit(cluster)

    def _on_transition(self, cluster: str, transition: Transition) -> None:
        self.anomalies_changed.emit()

    def close(self) -> None:
        if self._on_health in self.hub.health_listeners:
            self.hub.health_listeners.remove(self._on_health)
        if self._on_transition in self.hub.transition_listeners:
            self.hub.transition_listeners.remove(self._on_transition)
