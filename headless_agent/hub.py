"""The Hub: every cluster the engine watches, each with its state, health and detector.

The desktop, headless mode and the agent all hold one Hub. Clusters come from kubeconfig
contexts or the demo fleet (agents in a later version); each runs in its own cancel scope,
so starting or stopping one never disturbs the others. Consumers read ``clusters`` and
register listeners for anomaly transitions and health changes; listeners are plain
callables run on the trio thread, and must not block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from headless_agent.demo.fleet import ClusterSpec
from headless_agent.demo.source import DEMO_PREFIX, demo_specs, run_demo_cluster
from headless_agent.detect.anomaly import Anomaly, Transition
from headless_agent.detect.detector import Detector
from headless_agent.detect.rules import DetectionSettings
from headless_agent.kube.cluster_source import KubeTarget, run_cluster
from headless_agent.kube.errors import KubeError
from headless_agent.kube.health import ClusterHealth, HealthSnapshot
from headless_agent.state.cluster_state import ClusterState

log = logging.getLogger(__name__)


class SourceFailed(KubeError):
    """A cluster's source ended with an unexpected error."""

    category = "internal"


TransitionListener = Callable[[str, Transition], None]
HealthListener = Callable[[str, HealthSnapshot], None]
SourceRunner = Callable[[ClusterState, ClusterHealth], Awaitable[None]]


@dataclass
class ClusterHandle:
    """One watched cluster."""

    name: str
    origin: str  # "kubeconfig" | "demo" | "agent"
    state: ClusterState
    health: ClusterHealth
    detector: Detector
    description: str = ""
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo"


class Hub:
    def __init__(
        self,
        *,
        settings: DetectionSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or DetectionSettings()
        self.clock = clock
        self.clusters: dict[str, ClusterHandle] = {}
        self.transition_listeners: list[TransitionListener] = []
        self.health_listeners: list[HealthListener] = []
        self._nursery: trio.Nursery | None = None
        self._waiting: list[tuple[ClusterHandle, SourceRunner]] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; clusters added before or after run as soon as possible."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for handle, runner in self._waiting:
                nursery.start_soon(self._run_cluster, handle, runner)
            self._waiting.clear()
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def add_cluster(
        self, name: str, origin: str, runner: SourceRunner, *, description: str = ""
    ) -> ClusterHandle:
        """Start watching a cluster fed by ``runner(state, health)``."""
        if name in self.clusters:
            raise ValueError(f"a cluster named {name!r} is already watched")
        state = ClusterState(name)
        health = ClusterHealth(name, clock=self.clock)
        detector = Detector(state, settings=self.settings, clock=self.clock)
        handle = ClusterHandle(name, origin, state, health, detector, description)
        health.on_change = lambda snapshot: self._health_changed(name, snapshot)
        detector.listeners.append(lambda transition: self._transition(name, transition))
        self.clusters[name] = handle
        if self._nursery is not None:
            self._nursery.start_soon(self._run_cluster, handle, runner)
        else:
            self._waiting.append((handle, runner))
        return handle

    def watch_context(self, target: KubeTarget) -> ClusterHandle:
        """Watch one kubeconfig context."""
        info = target.kubeconfigs.contexts.get(target.context)
        description = f"{info.server} ({info.file})" if info is not None else ""

        async def runner(state: ClusterState, health: ClusterHealth) -> None:
            await run_cluster(target, state, health)

        return self.add_cluster(target.context, "kubeconfig", runner, description=description)

    def watch_demo(self, *, speed: float = 1.0) -> list[ClusterHandle]:
        """Watch the built-in demo fleet (simulated clusters, always labelled as a demo)."""
        handles = []
        for spec in demo_specs():

            async def runner(
                state: ClusterState, health: ClusterHealth, spec: ClusterSpec = spec
            ) -> None:
                await run_demo_cluster(spec, state, health, speed=speed, clock=self.clock)

            handles.append(
                self.add_cluster(
                    f"{DEMO_PREFIX}{spec.name}",
                    "demo",
                    runner,
                    description=f"Demo cluster (simulated) — {spec.region}",
                )
            )
        return handles

    def stop(self, name: str) -> None:
        """Stop watching a cluster; its tasks end at their next checkpoint."""
        handle = self.clusters.pop(name, None)
        if handle is not None:
            handle.scope.cancel()

    def open_anomalies(self) -> list[Anomaly]:
        return [a for h in self.clusters.values() for a in h.detector.open_anomalies()]

    async def _run_cluster(self, handle: ClusterHandle, runner: SourceRunner) -> None:
        with handle.scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(handle.detector.run)
                try:
                    await runner(handle.state, handle.health)
                except Exception as error:
                    # A bug or an unforeseen answer in one cluster's source must not take
                    # the other clusters (or the app) down: report it on that cluster.
                    log.exception("%s: the cluster's source stopped", handle.name)
                    handle.health.setup_failed(SourceFailed(f"stopped unexpectedly: {error!r}"))
                    await trio.sleep_forever()

    def _transition(self, cluster: str, transition: Transition) -> None:
        for listener in list(self.transition_listeners):
            try:
                listener(cluster, transition)
            except Exception:  # one broken consumer must not stop detection
                log.exception("anomaly listener failed")

    def _health_changed(self, cluster: str, snapshot: HealthSnapshot) -> None:
        for listener in list(self.health_listeners):
            try:
                listener(cluster, snapshot)
            except Exception:
                log.exception("health listener failed")
