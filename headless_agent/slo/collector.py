"""The SLO collector: scrape the controllers of every watched cluster, book the
increases per Ingress target and minute, and keep the minutes in the history store.

Every ``interval`` (15 s) each cluster watched through a kubeconfig context has its
controllers discovered (``scraping``), read through the API server, and their series
mapped to Ingress routes (``ingress_mapping``); a minute is written once it is over, as a
``SloWindow`` per target (requests by status, latency buckets), and the store rolls the
minutes up into hours. A cluster given a Prometheus server (``prometheus``) has its
minutes read from there instead. A pod that cannot be read is logged and skipped: its minutes are
then missing (which the no-data alert notices), never zero.

The minutes go to a ``SloMinuteSink``: the hub's history store, or, inside the in-cluster
agent, the agent's bounded buffer that hubs fetch them from (``GET /v1/slo-minutes``). A
hub does not scrape a cluster it watches through an agent: the agent does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio

from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.api import KubeApi
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.errors import KubeError
from headless_agent.slo.controllers import read_exposition
from headless_agent.slo.exposition import ExpositionError
from headless_agent.slo.increases import MINUTE, MinuteBook, MinuteTraffic
from headless_agent.slo.ingress_mapping import IngressMap
from headless_agent.slo.prometheus_source import PrometheusError, PrometheusSource, merged
from headless_agent.slo.scraping import (
    DEFAULT_SELECTORS,
    ControllerPod,
    ControllerSelector,
    discover_controllers,
    scrape_through_api,
)
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import IngressRecord
from headless_agent.store import SloWindow

log = logging.getLogger(__name__)

INTERVAL = 15.0
Fetch = Callable[[ControllerPod], Awaitable[str]]


class SloMinuteSink(Protocol):
    """Where finished minutes go: a ``HistoryStore``, or the agent's relay buffer."""

    def record_slo_minutes(self, cluster: str, windows: Sequence[SloWindow]) -> None: ...


def minute_window(traffic: MinuteTraffic) -> SloWindow:
    """A booked minute as the store keeps it (``good``: requests that were not 5xx)."""
    errors = sum(count for status, count in traffic.statuses.items() if status[:1] == "5")
    return SloWindow(
        slo=traffic.target,
        window_start=traffic.start,
        window_seconds=traffic.seconds,
        good=traffic.requests - errors,
        total=traffic.requests,
        statuses=tuple(sorted(traffic.statuses.items())),
        latency=tuple(sorted(traffic.buckets.items())),
    )


def ingress_map(state: ClusterState) -> IngressMap:
    return IngressMap(r for r in state.records("Ingress") if isinstance(r, IngressRecord))


@dataclass
class ClusterScrapes:
    """One cluster's controllers, as last seen, and its booked increases."""

    book: MinuteBook
    failures: dict[str, str] = field(default_factory=dict)

    async def scrape(self, pods: Iterable[ControllerPod], fetch: Fetch, now: float) -> None:
        for pod in pods:
            try:
                text = await fetch(pod)
                reading = read_exposition(pod.controller, text)
            except (KubeError, ExpositionError) as error:
                if self.failures.get(pod.source) != str(error):
                    log.warning("SLO metrics of %s/%s: %s", pod.namespace, pod.name, error)
                self.failures[pod.source] = str(error)
                self.book.counters.forget(pod.source)
                continue
            self.failures.pop(pod.source, None)
            self.book.observe(pod.source, now, reading)
        gone = self.book.counters.sources - {p.source for p in pods}
        for source in gone:
            self.book.counters.forget(source)


class SloCollector:
    """Runs beside a Hub (``attach``) and feeds its history store (or the agent's buffer)."""

    def __init__(
        self,
        store: SloMinuteSink,
        *,
        selectors: Iterable[ControllerSelector] = DEFAULT_SELECTORS,
        interval: float = INTERVAL,
        step: float = MINUTE,
        clock: Callable[[], float] = time.time,
        prometheus: Mapping[str, PrometheusSource] | None = None,
    ) -> None:
        """``prometheus``: clusters whose minutes come from a Prometheus server instead
        (by cluster name); their controllers are not scraped."""
        self.store = store
        self.prometheus = dict(prometheus or {})
        #: per cluster read from Prometheus, the end of the last minute stored
        self._read_until: dict[str, float] = {}
        self.selectors = tuple(selectors)
        self.interval = interval
        self.step = step
        self.clock = clock
        self.clusters: dict[str, ClusterScrapes] = {}
        self._apis: dict[str, KubeApi] = {}
        self._hub: Hub | None = None

    def attach(self, hub: Hub) -> None:
        """Run as one of the hub's services (before it starts)."""
        self._hub = hub
        hub.services.append(self.run)

    async def run(self) -> None:
        try:
            while True:
                clusters = self._hub.clusters if self._hub is not None else {}
                for name, handle in list(clusters.items()):
                    await self._collect_cluster(name, handle)
                await trio.sleep(self.interval)
        finally:
            with trio.CancelScope(shield=True):
                for api in self._apis.values():
                    await api.aclose()

    async def _collect_cluster(self, name: str, handle: ClusterHandle) -> None:
        source = self.prometheus.get(name)
        if source is not None:
            try:
                await self.collect_from_prometheus(name, handle.state, source)
            except PrometheusError as error:
                log.warning("SLO metrics of %s: %s", name, error)
            return
        if not isinstance(handle.target, KubeTarget):
            return  # the demo has no controllers; an agent's cluster is scraped by the agent
        if not discover_controllers(handle.state.records("Pod"), self.selectors):
            return  # no controller: not even credentials are needed
        try:
            await self.collect(name, handle.state, await self.api_for(name, handle.target))
        except KubeError as error:
            log.warning("SLO metrics of %s: %s", name, error)

    async def collect_from_prometheus(
        self, cluster: str, state: ClusterState, source: PrometheusSource
    ) -> list[SloWindow]:
        """Store the minutes Prometheus has that are over and not stored yet (at most the
        last hour at the first call)."""
        now = self.clock()
        end = now // MINUTE * MINUTE
        start = self._read_until.get(cluster, end - 3600.0)
        if end <= start:
            return []
        minutes = await source.minutes(start, end, ingress_map(state).target_of)
        windows = [minute_window(m) for m in merged(minutes)]
        self._read_until[cluster] = end
        if windows:
            self.store.record_slo_minutes(cluster, windows)
        return windows

    async def api_for(self, name: str, target: KubeTarget) -> KubeApi:
        """The cluster's API client (credentials resolved once, in a worker thread)."""
        api = self._apis.get(name)
        if api is None:
            credentials = await trio.to_thread.run_sync(
                lambda: resolve_credentials(
                    target.kubeconfigs, target.context, extra_path=target.extra_path
                )
            )
            api = self._apis[name] = KubeApi(credentials)
        return api

    async def collect(
        self, cluster: str, state: ClusterState, api: KubeApi | Fetch
    ) -> list[SloWindow]:
        """One round for one cluster: scrape, book, and store the minutes that are over."""
        pods = discover_controllers(state.records("Pod"), self.selectors)
        fetch: Fetch
        if isinstance(api, KubeApi):
            kube = api

            async def fetch(pod: ControllerPod) -> str:
                return await scrape_through_api(kube, pod)
        else:
            fetch = api
        scrapes = self.clusters.get(cluster)
        mapping = ingress_map(state)
        if scrapes is None:
            scrapes = self.clusters[cluster] = ClusterScrapes(
                MinuteBook(mapping.target_of, step=self.step)
            )
        scrapes.book.target_of = mapping.target_of
        await scrapes.scrape(pods, fetch, self.clock())
        windows = [minute_window(m) for m in scrapes.book.close(self.clock())]
        if windows:
            self.store.record_slo_minutes(cluster, windows)
        return windows
