"""The Hub: every cluster the engine watches, each with its state, health and detector.

The desktop, headless mode and the agent all hold one Hub. Clusters come from kubeconfig
contexts or the demo fleet (agents in a later version); each runs in its own cancel scope,
so starting or stopping one never disturbs the others. Consumers read ``clusters`` and
register listeners for anomaly transitions and health changes; listeners are plain
callables run on the trio thread, and must not block.

With a ``HistoryStore`` the Hub also keeps history: it runs the store's writer for as long
as it runs itself (closing the file after every cluster task has ended), records every
anomaly transition, follows each cluster's Warning events, pod restarts and identity, and
after a cluster's first sync closes the episodes that ended while nothing was watching.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import trio

from headless_agent.agent.client import AgentSession, AgentTarget, AnomalyMirror
from headless_agent.demo.fleet import ClusterSpec
from headless_agent.demo.metrics import simulate as simulate_metrics
from headless_agent.demo.slo_traffic import DEMO_SHOP
from headless_agent.demo.slo_traffic import simulate as simulate_slo_traffic
from headless_agent.demo.source import DEMO_PREFIX, demo_specs, run_demo_cluster
from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition
from headless_agent.detect.detector import Detector
from headless_agent.detect.rules import DetectionSettings
from headless_agent.kube.cluster_source import KubeTarget, run_cluster
from headless_agent.kube.errors import KubeError
from headless_agent.kube.health import ClusterHealth, ConnectionState, HealthSnapshot
from headless_agent.state.cluster_state import ClusterState
from headless_agent.store import HistoryStore

log = logging.getLogger(__name__)


class SourceFailed(KubeError):
    """A cluster's source ended with an unexpected error."""

    category = "internal"


class AnomalySource(Protocol):
    """Where a cluster's anomalies come from: a Detector, or an agent's (mirrored)."""

    listeners: list[Callable[[Transition], None]]

    def open_anomalies(self) -> list[Anomaly]: ...

    def tracked_keys(self) -> set[AnomalyKey]: ...

    async def caught_up(self) -> None: ...

    async def run(self) -> None: ...


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
    detector: AnomalySource
    description: str = ""
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    #: set the first time the cluster is fully listed
    first_sync: trio.Event = field(default_factory=trio.Event)
    #: how it is reached (a KubeTarget or an AgentTarget; None for the demo)
    target: KubeTarget | AgentTarget | None = None

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo"


class Hub:
    def __init__(
        self,
        *,
        settings: DetectionSettings | None = None,
        clock: Callable[[], float] = time.time,
        history: HistoryStore | None = None,
    ) -> None:
        self.settings = settings or DetectionSettings()
        #: the history file, owned by the Hub while it runs (None: no history kept)
        self.history = history
        self.clock = clock
        self.clusters: dict[str, ClusterHandle] = {}
        self.transition_listeners: list[TransitionListener] = []
        #: tasks that live as long as the clusters and use the history (alerting): they
        #: end before the history file closes
        self.services: list[Callable[[], Awaitable[None]]] = []
        self.health_listeners: list[HealthListener] = []
        self._nursery: trio.Nursery | None = None
        self._waiting: list[tuple[ClusterHandle, SourceRunner]] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; clusters added before or after run as soon as possible."""
        # The history outlives every task that records into it: shielded from the
        # cancellation that stops the hub, it is closed only once they have all ended (a
        # delivery finishing its send must still be able to mark it sent).
        history_scope = trio.CancelScope(shield=True)

        async def keep_history(task_status: trio.TaskStatus[None]) -> None:
            assert self.history is not None
            with history_scope:
                await self.history.run(task_status=task_status)

        async with trio.open_nursery() as outer:
            if self.history is not None:
                # Starting is shielded too: a start cancelled midway would leave the
                # shielded history running in start()'s own nursery, where nothing ever
                # cancels it (the desktop closed at its first paint hung there).
                with trio.CancelScope(shield=True):
                    await outer.start(keep_history)
                self.transition_listeners.append(self.history.record_transition)
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    for service in self.services:
                        nursery.start_soon(service)
                    for handle, runner in self._waiting:
                        nursery.start_soon(self._run_cluster, handle, runner)
                    self._waiting.clear()
                    task_status.started()
                    try:
                        await trio.sleep_forever()
                    finally:
                        self._nursery = None
            finally:
                # Only now, with no cluster task left to record anything, close the file.
                if self.history is not None:
                    self.transition_listeners.remove(self.history.record_transition)
                history_scope.cancel()
                outer.cancel_scope.cancel()

    def add_cluster(
        self,
        name: str,
        origin: str,
        runner: SourceRunner,
        *,
        description: str = "",
        anomalies: Callable[[ClusterState], AnomalySource] | None = None,
    ) -> ClusterHandle:
        """Start watching a cluster fed by ``runner(state, health)``; its anomalies come
        from a Detector over its state unless ``anomalies`` makes another source."""
        if name in self.clusters:
            raise ValueError(f"a cluster named {name!r} is already watched")
        state = ClusterState(name)
        health = ClusterHealth(name, clock=self.clock)
        detector: AnomalySource
        if anomalies is not None:
            detector = anomalies(state)
        else:
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

    def watch_context(self, target: KubeTarget, *, name: str | None = None) -> ClusterHandle:
        """Watch one kubeconfig context (called ``name``, by default the context's)."""
        info = target.kubeconfigs.contexts.get(target.context)
        description = f"{info.server} ({info.file})" if info is not None else ""

        async def runner(state: ClusterState, health: ClusterHealth) -> None:
            await run_cluster(target, state, health)

        handle = self.add_cluster(
            name or target.context, "kubeconfig", runner, description=description
        )
        handle.target = target
        return handle

    def watch_agent(self, name: str, target: AgentTarget) -> ClusterHandle:
        """Watch a cluster through its in-cluster agent (its anomalies are the agent's)."""
        mirror = AnomalyMirror(name, clock=self.clock)

        async def runner(state: ClusterState, health: ClusterHealth) -> None:
            await AgentSession(name, target, state, health, mirror, self.history).run()

        handle = self.add_cluster(
            name, "agent", runner, description=target.url, anomalies=lambda state: mirror
        )
        handle.target = target
        return handle

    def watch_demo(self, *, speed: float = 1.0) -> list[ClusterHandle]:
        """Watch the built-in demo fleet (simulated clusters, always labelled as a demo)."""
        handles = []
        for spec in demo_specs():

            async def runner(
                state: ClusterState, health: ClusterHealth, spec: ClusterSpec = spec
            ) -> None:
                async with trio.open_nursery() as nursery:
                    if self.history is not None:  # charts need node metrics: simulate them
                        nursery.start_soon(self._demo_metrics, state, speed)
                        if spec.name == DEMO_SHOP:  # and the SLO view ingress traffic
                            nursery.start_soon(self._demo_slo_traffic, state, speed)
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

    async def _demo_metrics(self, state: ClusterState, speed: float) -> None:
        assert self.history is not None
        handle = self.clusters.get(state.cluster)
        if handle is None:
            return
        await handle.first_sync.wait()  # the nodes are known once the cluster is listed
        nodes = sorted(n.name for n in state.records("Node"))
        await simulate_metrics(self.history, state.cluster, nodes, speed=speed, clock=self.clock)

    async def _demo_slo_traffic(self, state: ClusterState, speed: float) -> None:
        assert self.history is not None
        await simulate_slo_traffic(self.history, state.cluster, speed=speed, clock=self.clock)

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
                if self.history is not None:
                    nursery.start_soon(self._keep_history, handle, self.history)
                try:
                    await runner(handle.state, handle.health)
                except Exception as error:
                    # A bug or an unforeseen answer in one cluster's source must not take
                    # the other clusters (or the app) down: report it on that cluster.
                    log.exception("%s: the cluster's source stopped", handle.name)
                    handle.health.setup_failed(SourceFailed(f"stopped unexpectedly: {error!r}"))
                    await trio.sleep_forever()

    async def _keep_history(self, handle: ClusterHandle, history: HistoryStore) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(history.follow, handle.name, handle.state)
            await handle.first_sync.wait()
            await handle.detector.caught_up()
            reconcile = handle.detector.tracked_keys
            history.reconcile_open_anomalies(handle.name, reconcile())
            # An episode still in its grace period at the first sync may end without ever
            # opening again; once every grace period has passed, check once more.
            await trio.sleep(self.settings.longest_grace())
            history.reconcile_open_anomalies(handle.name, reconcile())

    def _transition(self, cluster: str, transition: Transition) -> None:
        for listener in list(self.transition_listeners):
            try:
                listener(cluster, transition)
            except Exception:  # one broken consumer must not stop detection
                log.exception("anomaly listener failed")

    def _health_changed(self, cluster: str, snapshot: HealthSnapshot) -> None:
        handle = self.clusters.get(cluster)
        if handle is not None and snapshot.state is ConnectionState.SYNCED:
            handle.first_sync.set()
        for listener in list(self.health_listeners):
            try:
                listener(cluster, snapshot)
            except Exception:
                log.exception("health listener failed")
