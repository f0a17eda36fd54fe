"""Alerting: rules over anomalies, grouped and paced, delivered durably.

- `config`: the TOML settings and ``load_config`` (every mistake with its line);
- `dispatcher`: transitions → groups → notifications in the store's outbox;
- `delivery`: the outbox → the channels, retried until delivered;
- `channels`: e-mail (SMTP), webhook (HMAC-signed), Slack (Block Kit), Alertmanager (v2).
- `node_metrics`: rules on node metrics (CPU, memory, disk, a disk-full forecast).
- SLO burn-rate and no-data alerts come from ``headless_agent.slo.alerting``.

``Alerting`` puts them together beside a Hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import trio

from headless_agent.alerts.channels import test_payload
from headless_agent.alerts.config import AlertConfig
from headless_agent.alerts.delivery import Delivery, LocalNotify
from headless_agent.alerts.dispatcher import Dispatcher
from headless_agent.alerts.node_metrics import NodeMetricRules
from headless_agent.detect.anomaly import (
    Anomaly,
    AnomalyKey,
    Severity,
    Transition,
    TransitionType,
)
from headless_agent.hub import Hub
from headless_agent.kube.health import ConnectionState, HealthSnapshot
from headless_agent.slo.alerting import SloAlerts
from headless_agent.slo.collector import SloCollector
from headless_agent.slo.prometheus_source import PrometheusSource
from headless_agent.slo.scraping import DEFAULT_SELECTORS
from headless_agent.state.records import PodRecord
from headless_agent.store import HistoryStore, Silence

SILENCE_REFRESH = 5.0
REACHABILITY_CHECK = 1.0
NODE_DOWN = frozenset({"NodeNotReady", "NodeUnknown"})


#: a cluster's trouble → the severity and message of its anomaly
_TROUBLES = {
    "ClusterUnreachable": (Severity.CRITICAL, "anomaly.cluster_unreachable"),
    "ClusterDegraded": (Severity.WARNING, "anomaly.cluster_degraded"),
}


def _trouble(snapshot: HealthSnapshot) -> str | None:
    """Offline; or degraded by failing watches (not by what RBAC hides, which is said
    once in the sidebar and is not an incident)."""
    if snapshot.state is ConnectionState.OFFLINE:
        return "ClusterUnreachable"
    if snapshot.state is ConnectionState.DEGRADED and snapshot.last_error:
        return "ClusterDegraded"
    return None


class Alerting:
    def __init__(
        self,
        config: AlertConfig,
        store: HistoryStore,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 5.0,
        notify: LocalNotify | None = None,
    ) -> None:
        """``notify`` shows a notification on this machine (the desktop app); without it,
        ``desktop`` channels are left out of every rule."""
        self.notify = notify
        self.config = config = self._usable(config)
        self.store = store
        self.clock = clock
        self.hub: Hub | None = None
        #: clusters in trouble: (reason, since, the last error)
        self._troubled: dict[str, tuple[str, float, str]] = {}
        self._unreachable: dict[str, Anomaly] = {}
        self.silences: list[Silence] = []
        self.dispatcher = Dispatcher(config, store, clock=clock, suppressed=self.suppressed)
        self.delivery = Delivery(config, store, clock=clock, poll=poll, local=notify)
        self.dispatcher.enqueued.append(self.delivery.wake)
        self.node_metrics = NodeMetricRules(self.dispatcher, store, clock=clock)
        self.slo_alerts = SloAlerts(self.dispatcher, store, clock=clock)
        #: reads the minutes SLO rules judge; made when attached to a hub
        self.slo_collector: SloCollector | None = None

    def _usable(self, config: AlertConfig) -> AlertConfig:
        if self.notify is not None:
            return config
        local = {name for name, c in config.channels.items() if c.type == "desktop"}
        if not local:
            return config
        rules = tuple(
            replace(rule, channels=tuple(c for c in rule.channels if c not in local))
            for rule in config.rules
        )
        channels = {name: c for name, c in config.channels.items() if name not in local}
        return replace(config, channels=channels, rules=tuple(r for r in rules if r.channels))

    def reconfigure(self, config: AlertConfig) -> None:
        """Use edited settings from now on, without a restart: open groups of rules that
        remain go on; the outbox keeps what it holds."""
        self.config = config = self._usable(config)
        self.dispatcher.reconfigure(config)
        self.delivery.reconfigure(config)
        self._configure_slo_sources()

    async def send_test(self, channel_name: str) -> None:
        """Send a test notification on one channel now, outside the outbox; raises
        ``DeliveryFailed`` with the receiver's words (``KeyError``: no such channel)."""
        channel = self.config.channels[channel_name]
        await self.delivery.deliver(channel, test_payload(self.clock()))

    def attach(self, hub: Hub) -> None:
        """Hear the hub's transitions, and run as one of its services (before it starts)."""
        self.hub = hub
        hub.transition_listeners.append(self.dispatcher.on_transition)
        hub.health_listeners.append(self._on_health)
        hub.services.append(self.run)
        # The minutes SLO rules read: from the controllers, or a Prometheus server.
        self.slo_collector = SloCollector(self.store, clock=self.clock)
        self._configure_slo_sources()
        self.slo_collector.attach(hub)

    def _configure_slo_sources(self) -> None:
        collector = self.slo_collector
        if collector is None:
            return
        collector.selectors = (*DEFAULT_SELECTORS, *self.config.slo_controllers)
        collector.prometheus = {
            cluster: PrometheusSource(url) for cluster, url in self.config.slo_prometheus.items()
        }

    # --- clusters that cannot be reached -----------------------------------------------------

    def _on_health(self, cluster: str, snapshot: HealthSnapshot) -> None:
        reason = _trouble(snapshot)
        known = self._troubled.get(cluster)
        if known is not None and known[0] == reason:
            return  # the same trouble goes on (since when it began)
        self._troubled.pop(cluster, None)
        opened = self._unreachable.pop(cluster, None)
        if opened is not None:
            now = self.clock()
            resolved = replace(opened, last_seen=now, resolved_at=now)
            self.dispatcher.on_transition(cluster, Transition(TransitionType.RESOLVED, resolved))
        if reason is not None:
            self._troubled[cluster] = (reason, self.clock(), snapshot.last_error or "")

    async def _watch_reachability(self) -> None:
        """A cluster offline — or watched only in part because some watches keep failing
        (a stalled watch that cannot be opened again) — becomes an anomaly of its own once
        that has lasted ``unreachable_after`` (a blip of a reconnect is not an incident)."""
        while True:
            now = self.clock()
            for cluster, (reason, since, error) in list(self._troubled.items()):
                if cluster in self._unreachable or now - since < self.config.unreachable_after:
                    continue
                severity, message_id = _TROUBLES[reason]
                anomaly = Anomaly(
                    key=AnomalyKey(cluster, "Cluster", "", cluster, reason),
                    severity=severity,
                    message_id=message_id,
                    params=(("cluster", cluster), ("detail", error)),
                    first_seen=since,
                    last_seen=now,
                    count=1,
                    members=(cluster,),
                )
                self._unreachable[cluster] = anomaly
                self.dispatcher.on_transition(cluster, Transition(TransitionType.OPENED, anomaly))
            await trio.sleep(REACHABILITY_CHECK)

    async def run(self) -> None:
        await self.refresh_silences()  # before anything could be sent
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._follow_silences)
            nursery.start_soon(self._watch_reachability)
            nursery.start_soon(self.dispatcher.run)
            nursery.start_soon(self.delivery.run)
            nursery.start_soon(self.node_metrics.run)
            nursery.start_soon(self.slo_alerts.run)

    async def refresh_silences(self) -> None:
        """Silences live in the history (added from the command line or the desktop)."""
        now = self.clock()  # on the trio thread: the clock may be trio's

        def read() -> list[Silence]:
            self.store.flush()  # a silence just recorded by this process counts already
            return self.store.silences(active_at=now)

        self.silences = await trio.to_thread.run_sync(read)

    async def _follow_silences(self) -> None:
        while True:
            await trio.sleep(SILENCE_REFRESH)
            await self.refresh_silences()

    def suppressed(self, anomaly: Anomaly, at: float) -> bool:
        key = anomaly.key
        if any(
            s.matches(key.cluster, key.namespace, key.name, key.reason, at) for s in self.silences
        ):
            return True
        return self._inhibited(anomaly)

    def _inhibited(self, anomaly: Anomaly) -> bool:
        """A pod problem on a node that is itself down is the node's problem: its pods'
        alerts wait while the node's anomaly is open."""
        handle = self.hub.clusters.get(anomaly.key.cluster) if self.hub is not None else None
        if handle is None or anomaly.key.kind == "Node":
            return False
        down = {
            a.key.name
            for a in handle.detector.open_anomalies()
            if a.key.kind == "Node" and a.key.reason in NODE_DOWN
        }
        if not down:
            return False
        nodes = set()
        for member in anomaly.members:
            pod = handle.state.get("Pod", anomaly.key.namespace, member)
            if not isinstance(pod, PodRecord):
                return False
            nodes.add(pod.node)
        return bool(nodes) and nodes <= down
