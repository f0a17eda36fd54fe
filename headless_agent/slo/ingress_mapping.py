"""Metric series → Ingress objects, hosts, paths and backend services, from the cluster
state (the Ingress records the hub keeps).

- ingress-nginx labels its series with the Ingress (``namespace``, ``ingress``) and the
  rule's ``host``, ``path`` and ``service``: the route is the Ingress's route with that
  host and path (the labels alone when the Ingress is not known, e.g. just deleted).
- Traefik's Kubernetes Ingress provider names a router
  ``<namespace>-<ingress>-<host with dots as dashes>-<path>@kubernetes`` and a service
  ``<namespace>-<service>-<port>@kubernetes``: a router maps to the Ingress it starts
  with, narrowed by host; a service to the routes whose backend it is (when several
  routes share a backend, to the first of them, in the Ingress's order).

The store and the objectives name a route by ``host/path`` (``objectives.target_name``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from headless_agent.slo.controllers import SeriesLabels
from headless_agent.slo.objectives import target_name
from headless_agent.state.records import IngressRecord


@dataclass(frozen=True, slots=True)
class MappedRoute:
    """Where a series' traffic went."""

    namespace: str
    ingress: str
    host: str
    path: str
    service: str
    port: str = ""

    @property
    def target(self) -> str:
        return target_name(self.host, self.path)


def _suffix_free(name: str) -> str:
    return name.split("@", 1)[0]


class IngressMap:
    """The routes of a cluster's Ingress objects, to place series on them."""

    def __init__(self, ingresses: Iterable[IngressRecord]) -> None:
        self.routes: list[MappedRoute] = []
        self._by_ingress: dict[tuple[str, str], list[MappedRoute]] = {}
        for record in sorted(ingresses, key=lambda r: (r.namespace, r.name)):
            for route in record.routes:
                mapped = MappedRoute(
                    record.namespace, record.name, route.host, route.path, route.service, route.port
                )
                self.routes.append(mapped)
                self._by_ingress.setdefault((record.namespace, record.name), []).append(mapped)

    def route_of(self, series: SeriesLabels) -> MappedRoute | None:
        if series.router or (series.service and not series.ingress and not series.host):
            return self._traefik(series)
        candidates = self._by_ingress.get((series.namespace, series.ingress), [])
        for route in candidates:
            if route.host == series.host and route.path == (series.path or "/"):
                return route
        if series.host or series.path:
            # Not (or no longer) in the cluster state: the labels say enough.
            return MappedRoute(
                series.namespace, series.ingress, series.host, series.path or "/", series.service
            )
        return None

    def _traefik(self, series: SeriesLabels) -> MappedRoute | None:
        if series.router:
            router = _suffix_free(series.router)
            matches = [
                r
                for r in self.routes
                if router.startswith(f"{r.namespace}-{r.ingress}-")
                and (not r.host or r.host.replace(".", "-") in router)
            ]
            if matches:
                # The longest path that the router's name ends with; else the first route.
                def score(route: MappedRoute) -> int:
                    tail = route.path.replace("/", "-").rstrip("-")
                    return len(tail) if tail and router.endswith(tail) else 0

                return max(matches, key=score)
        service = _suffix_free(series.service)
        for route in self.routes:
            if service in (
                f"{route.namespace}-{route.service}-{route.port}",
                f"{route.namespace}-{route.ingress}-{route.service}-{route.port}",
            ):
                return route
        return None

    def target_of(self, series: SeriesLabels) -> str | None:
        route = self.route_of(series)
        return route.target if route is not None else None
