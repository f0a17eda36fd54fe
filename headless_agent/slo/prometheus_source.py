"""The same minutes from a Prometheus server the user already runs (its HTTP query API).

The SLIs in PromQL, one query per kind, evaluated every minute by ``query_range``::

    sum by (namespace, ingress, host, path, service, status)
        (increase(nginx_ingress_controller_requests[1m]))
    sum by (namespace, ingress, host, path, service, le)
        (increase(nginx_ingress_controller_request_duration_seconds_bucket[1m]))
    sum by (router, service, code) (increase(traefik_router_requests_total[1m]))
    sum by (router, service, le) (increase(traefik_router_request_duration_seconds_bucket[1m]))
    (and the traefik_service_* pair, without router)

The point at ``T`` becomes the minute ``[T - 1m, T)``. ``increase()`` extrapolates to
the edges of its range, so counts are approximate where ours are exact, but ratios
(availability) and percentiles are the same: the factor cancels out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from headless_agent.slo.controllers import SeriesLabels, bound_text
from headless_agent.slo.increases import MINUTE, MinuteTraffic, by_target

NGINX_LABELS = "namespace, ingress, host, path, service"
NGINX_BUCKETS = "nginx_ingress_controller_request_duration_seconds_bucket"
TRAEFIK_ROUTER_BUCKETS = "traefik_router_request_duration_seconds_bucket"
QUERIES = (
    (
        "status",
        "status",
        f"sum by ({NGINX_LABELS}, status) (increase(nginx_ingress_controller_requests[1m]))",
    ),
    (
        "le",
        "le",
        f"sum by ({NGINX_LABELS}, le) (increase({NGINX_BUCKETS}[1m]))",
    ),
    (
        "status",
        "code",
        "sum by (router, service, code) (increase(traefik_router_requests_total[1m]))",
    ),
    (
        "le",
        "le",
        f"sum by (router, service, le) (increase({TRAEFIK_ROUTER_BUCKETS}[1m]))",
    ),
    ("status", "code", "sum by (service, code) (increase(traefik_service_requests_total[1m]))"),
    (
        "le",
        "le",
        "sum by (service, le) (increase(traefik_service_request_duration_seconds_bucket[1m]))",
    ),
)


class PrometheusError(Exception):
    """The Prometheus server could not answer; the message says what it said."""


@dataclass
class PrometheusSource:
    """A Prometheus server's query API (``url`` as ``http://prometheus:9090``)."""

    url: str
    client: httpx.AsyncClient | None = None
    timeout: float = 30.0

    async def query_range(
        self, query: str, start: float, end: float, step: float
    ) -> list[dict[str, object]]:
        client = self.client or httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await client.get(
                f"{self.url.rstrip('/')}/api/v1/query_range",
                params={"query": query, "start": repr(start), "end": repr(end), "step": repr(step)},
            )
        except httpx.HTTPError as error:
            raise PrometheusError(f"cannot reach {self.url}: {error}") from None
        finally:
            if self.client is None:
                await client.aclose()
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"{self.url} answered {response.status_code} without JSON"
            ) from None
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"{self.url}: {body.get('error') or response.status_code}")
        result = body["data"]["result"]
        assert isinstance(result, list)
        return result

    async def minutes(
        self, start: float, end: float, target_of: Callable[[SeriesLabels], str | None]
    ) -> list[MinuteTraffic]:
        """Every target's minutes ``[T - 1m, T)`` for each whole minute T in (start, end]."""
        first = (start // MINUTE + 1) * MINUTE
        last = end // MINUTE * MINUTE
        increases: dict[float, dict[tuple[SeriesLabels, str, str, str], float]] = {}
        for kind, detail_label, query in QUERIES:
            for series in await self.query_range(query, first, last, MINUTE):
                labels = series["metric"]
                assert isinstance(labels, dict)
                detail = str(labels.get(detail_label, ""))
                if kind == "le":
                    detail = bound_text(detail)
                key = (_labels(labels), kind, detail, "")
                for at, value in series["values"]:  # type: ignore[attr-defined]
                    increases.setdefault(float(at) - MINUTE, {})[key] = float(value)
        traffic: list[MinuteTraffic] = []
        for minute_start, values in sorted(increases.items()):
            traffic.extend(by_target(values, target_of, minute_start).values())
        return traffic


def _labels(labels: dict[str, object]) -> SeriesLabels:
    def get(name: str) -> str:
        return str(labels.get(name, ""))

    return SeriesLabels(
        get("namespace"), get("ingress"), get("host"), get("path"), get("service"), get("router")
    )


def merged(traffic: Iterable[MinuteTraffic]) -> list[MinuteTraffic]:
    """One minute per target and start (several queries may give parts of it)."""
    found: dict[tuple[str, float], MinuteTraffic] = {}
    for minute in traffic:
        key = (minute.target, minute.start)
        if key in found:
            found[key].add(minute)
        else:
            found[key] = minute
    return [found[k] for k in sorted(found)]
