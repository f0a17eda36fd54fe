"""The one place where engine callbacks become Qt signals.

The engine calls plain listeners on the trio thread — which, in guest mode, is the Qt
thread — so emitting signals here is safe and views never poll.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from headless_agent.detect.anomaly import Transition
from headless_agent.hub import Hub
from headless_agent.kube.health import HealthSnapshot


class EngineBridge(QObject):
    cluster_health_changed = Signal(str)
    anomalies_changed = Signal()

    #: anomaly tables are rebuilt at most this often, however many transitions arrive
    ANOMALY_REFRESH_MS = 200

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub
        self._anomaly_timer = QTimer(self)
        self._anomaly_timer.setSingleShot(True)
        self._anomaly_timer.setInterval(self.ANOMALY_REFRESH_MS)
        self._anomaly_timer.timeout.connect(self.anomalies_changed)
        hub.health_listeners.append(self._on_health)
        hub.transition_listeners.append(self._on_transition)

    def _on_health(self, cluster: str, snapshot: HealthSnapshot) -> None:
        self.cluster_health_changed.emit(cluster)

    def _on_transition(self, cluster: str, transition: Transition) -> None:
        # A burst of transitions (a node going down takes its pods with it) becomes one
        # refresh instead of hundreds.
        if not self._anomaly_timer.isActive():
            self._anomaly_timer.start()

    def close(self) -> None:
        self._anomaly_timer.stop()
        if self._on_health in self.hub.health_listeners:
            self.hub.health_listeners.remove(self._on_health)
        if self._on_transition in self.hub.transition_listeners:
            self.hub.transition_listeners.remove(self._on_transition)
