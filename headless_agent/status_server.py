"""Headless mode's own status on a local port: ``/healthz`` and ``/metrics``.

For a jump host's supervisor and its Prometheus: is the process serving, which clusters
are connected, how many anomalies are open, and how delivery is going. Nothing about the
clusters' contents and nothing secret; bound to loopback by default.
"""

from __future__ import annotations

from functools import partial

from hypercorn.config import Config
from hypercorn.trio import serve
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headless_agent.alerts import Alerting
from headless_agent.hub import Hub
from headless_agent.kube.health import ConnectionState


class StatusServer:
    def __init__(self, hub: Hub, alerting: Alerting | None, listen: str) -> None:
        self.hub, self.alerting, self.listen = hub, alerting, listen
        self.registry = CollectorRegistry()
        states = Gauge(
            "atlhyper_clusters", "watched clusters by connection state", ["state"],
            registry=self.registry,
        )  # fmt: skip
        for state in ConnectionState:
            states.labels(state.value).set_function(partial(self._count, state.value))
        Gauge("atlhyper_open_anomalies", "anomalies open now", registry=self.registry).set_function(
            lambda: len(hub.open_anomalies())
        )
        if alerting is not None:
            delivery = alerting.delivery
            Gauge(
                "atlhyper_notifications_delivered", "notifications delivered since start",
                registry=self.registry,
            ).set_function(lambda: delivery.delivered)  # fmt: skip
            Gauge(
                "atlhyper_notification_failures", "failed delivery attempts since start",
                registry=self.registry,
            ).set_function(lambda: delivery.failures)  # fmt: skip
        self.app = Starlette(
            routes=[Route("/healthz", self.healthz), Route("/metrics", self.metrics)]
        )

    def _count(self, state: str) -> int:
        return sum(h.health.snapshot.state.value == state for h in self.hub.clusters.values())

    async def healthz(self, request: Request) -> Response:
        clusters = {
            name: {"state": h.health.snapshot.state.value, "error": h.health.snapshot.last_error}
            for name, h in sorted(self.hub.clusters.items())
        }
        return JSONResponse({"status": "serving", "clusters": clusters})

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def run(self) -> None:
        config = Config()
        config.bind = [self.listen]
        config.accesslog = None
        config.include_server_header = False
        await serve(self.app, config)  # type: ignore[arg-type]
