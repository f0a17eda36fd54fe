"""A test exporter: ingress-nginx-format and Traefik-format metrics driven by a traffic
script, served over HTTP on a loopback (or host) address for our scraper and Prometheus.

The counters change only when the test applies the next step of its script (or resets
them, as a restarted controller would), so every scrape between two steps sees the same
values. ``atlhyper_test_step`` says which step the counters are at.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NGINX_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TRAEFIK_BUCKETS = (0.1, 0.3, 1.2, 5.0)


@dataclass(frozen=True)
class NginxRoute:
    namespace: str
    ingress: str
    host: str
    path: str
    service: str

    def labels(self) -> str:
        return (
            'controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",'
            'controller_pod="ingress-nginx-controller-0",'
            f'host="{self.host}",ingress="{self.ingress}",namespace="{self.namespace}",'
            f'path="{self.path}",service="{self.service}"'
        )


@dataclass(frozen=True)
class TraefikRoute:
    router: str
    service: str


Route = NginxRoute | TraefikRoute


@dataclass(frozen=True)
class Requests:
    """Requests of one route in one step: how many of each (method, status), and how long
    they took (``latencies`` is cycled over them)."""

    route: Route
    counts: Sequence[tuple[str, str, int]]  # (method, status, requests)
    latencies: Sequence[float]


def spread(low: float, high: float, count: int = 97) -> list[float]:
    """``count`` latencies spread over [low, high] (deterministic, no two alike)."""
    return [low + (high - low) * ((i * 37) % count) / (count - 1) for i in range(count)]


@dataclass
class _Histogram:
    bounds: tuple[float, ...]
    buckets: list[float] = field(default_factory=list)
    total: float = 0.0
    count: float = 0.0

    def __post_init__(self) -> None:
        self.buckets = [0.0] * len(self.bounds)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.buckets[i] += 1
        self.total += value
        self.count += 1


class TrafficExporter:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self.step = -1
        self._lock = threading.Lock()
        self._requests: dict[tuple[Route, str, str], float] = {}
        self._durations: dict[tuple[Route, str, str], _Histogram] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- the script ------------------------------------------------------------------------

    def apply(self, step: int, traffic: Sequence[Requests], *, reset: bool = False) -> None:
        """Move to ``step``: first zero every counter if ``reset`` (a restarted
        controller: the series stay, at 0), then add the step's requests."""
        with self._lock:
            if reset:
                for key in self._requests:
                    self._requests[key] = 0.0
                for key, histogram in self._durations.items():
                    self._durations[key] = _Histogram(histogram.bounds)
            for requests in traffic:
                observed = 0
                for method, status, count in requests.counts:
                    key = (requests.route, method, status)
                    self._requests[key] = self._requests.get(key, 0.0) + count
                    bounds = (
                        NGINX_BUCKETS if isinstance(requests.route, NginxRoute) else TRAEFIK_BUCKETS
                    )
                    histogram = self._durations.setdefault(key, _Histogram(bounds))
                    for _ in range(count):
                        histogram.observe(requests.latencies[observed % len(requests.latencies)])
                        observed += 1
            self.step = step

    # --- the exposition --------------------------------------------------------------------

    def render(self) -> str:
        with self._lock:
            return "".join(self._lines())

    def _lines(self) -> Iterator[str]:
        yield "# HELP atlhyper_test_step The traffic script's step.\n"
        yield "# TYPE atlhyper_test_step gauge\n"
        yield f"atlhyper_test_step {self.step}\n"
        nginx = sorted((k for k in self._requests if isinstance(k[0], NginxRoute)), key=str)
        traefik = sorted((k for k in self._requests if isinstance(k[0], TraefikRoute)), key=str)
        if nginx:
            yield "# HELP nginx_ingress_controller_requests The total number of client requests\n"
            yield "# TYPE nginx_ingress_controller_requests counter\n"
            for route, method, status in nginx:
                assert isinstance(route, NginxRoute)
                value = self._requests[(route, method, status)]
                labels = f'{route.labels()},method="{method}",status="{status}"'
                yield f"nginx_ingress_controller_requests{{{labels}}} {value}\n"
            name = "nginx_ingress_controller_request_duration_seconds"
            yield f"# HELP {name} The request processing time in seconds\n# TYPE {name} histogram\n"
            for route, method, status in nginx:
                assert isinstance(route, NginxRoute)
                labels = f'{route.labels()},method="{method}",status="{status}"'
                yield from _histogram_lines(name, labels, self._durations[(route, method, status)])
        if traefik:
            for family in ("router", "service"):
                counter = f"traefik_{family}_requests_total"
                yield f"# HELP {counter} How many HTTP requests processed\n"
                yield f"# TYPE {counter} counter\n"
                for route, method, code in traefik:
                    assert isinstance(route, TraefikRoute)
                    labels = _traefik_labels(family, route, method, code)
                    yield f"{counter}{{{labels}}} {self._requests[(route, method, code)]}\n"
                name = f"traefik_{family}_request_duration_seconds"
                yield f"# HELP {name} How long requests took\n# TYPE {name} histogram\n"
                for route, method, code in traefik:
                    assert isinstance(route, TraefikRoute)
                    labels = _traefik_labels(family, route, method, code)
                    yield from _histogram_lines(
                        name, labels, self._durations[(route, method, code)]
                    )

    # --- serving ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1") -> str:
        """Serve /metrics on ``host`` (a free port); returns ``host:port``."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("metrics"):
                    body = exporter.render().encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                else:
                    body = b"not found\n"
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _traefik_labels(family: str, route: TraefikRoute, method: str, code: str) -> str:
    router = f'router="{route.router}",' if family == "router" else ""
    return f'code="{code}",method="{method}",protocol="http",{router}service="{route.service}"'


def _histogram_lines(name: str, labels: str, histogram: _Histogram) -> Iterator[str]:
    for bound, count in zip(histogram.bounds, histogram.buckets, strict=True):
        yield f'{name}_bucket{{{labels},le="{bound}"}} {count}\n'
    yield f'{name}_bucket{{{labels},le="+Inf"}} {histogram.count}\n'
    yield f"{name}_sum{{{labels}}} {histogram.total}\n"
    yield f"{name}_count{{{labels}}} {histogram.count}\n"


__all__ = ["NginxRoute", "Requests", "TraefikRoute", "TrafficExporter", "math", "spread"]
