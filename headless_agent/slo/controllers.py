"""What the ingress controllers export, reduced to one shape: request counters by status
and latency histogram buckets, per series of one controller pod.

- ingress-nginx: ``nginx_ingress_controller_requests`` (labels ``namespace``, ``ingress``,
  ``host``, ``path``, ``service``, ``status``) and
  ``nginx_ingress_controller_request_duration_seconds_bucket`` (the same labels and ``le``;
  summed over ``method`` and ``status``).
- Traefik: ``traefik_router_requests_total`` / ``traefik_router_request_duration_seconds_bucket``
  (``router``, ``service``, ``code``) when the router metrics are on, else
  ``traefik_service_requests_total`` / ``traefik_service_request_duration_seconds_bucket``
  (``service``, ``code``). Traefik names Kubernetes Ingress routers and services after
  the objects (``ingress_mapping`` turns them back into hosts and paths).

A ``Reading`` maps counter keys to values: ``(series, "status", "503", rest)`` is the
request count of one status, ``(series, "le", "0.25", rest)`` one cumulative histogram
bucket; ``rest`` holds the labels we do not keep (``method``, ...), so that every series is
its own counter until its increases are known (a series that goes away is not a reset).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from headless_agent.slo.exposition import Sample, parse_samples


@dataclass(frozen=True, slots=True, order=True)
class SeriesLabels:
    """Which traffic a series counts, as the controller labels it (empty: not labelled)."""

    namespace: str = ""
    ingress: str = ""
    host: str = ""
    path: str = ""
    service: str = ""
    router: str = ""


#: (series, "status" | "le", status code or bucket bound as text, the other labels)
CounterKey = tuple[SeriesLabels, str, str, str]
Reading = dict[CounterKey, float]


@dataclass(frozen=True, slots=True)
class ControllerFormat:
    """One controller's metric names and how its labels read."""

    name: str
    #: (requests counter, duration bucket) pairs in order of preference: the first pair
    #: present in a scrape is used, the others ignored (no double counting)
    families: tuple[tuple[str, str], ...]
    status_label: str

    @property
    def wanted(self) -> frozenset[str]:
        # prometheus_client names every counter sample ..._total, whatever was served
        names = {name for pair in self.families for name in pair}
        return frozenset(names | {f"{_counter_base(n)}_total" for n in names})

    def labels(self, sample: Sample) -> SeriesLabels:
        get = sample.labels.get
        if self.name == "traefik":
            return SeriesLabels(service=get("service", ""), router=get("router", ""))
        return SeriesLabels(
            namespace=get("namespace", ""),
            ingress=get("ingress", ""),
            host=get("host", ""),
            path=get("path", ""),
            service=get("service", ""),
        )


INGRESS_NGINX = ControllerFormat(
    "ingress-nginx",
    (
        (
            "nginx_ingress_controller_requests",
            "nginx_ingress_controller_request_duration_seconds_bucket",
        ),
    ),
    "status",
)
TRAEFIK = ControllerFormat(
    "traefik",
    (
        ("traefik_router_requests_total", "traefik_router_request_duration_seconds_bucket"),
        ("traefik_service_requests_total", "traefik_service_request_duration_seconds_bucket"),
    ),
    "code",
)
FORMATS = {f.name: f for f in (INGRESS_NGINX, TRAEFIK)}


def bound_text(le: str) -> str:
    """One spelling per bucket bound ("0.250" and "0.25" are one bucket)."""
    value = float(le)
    return "+Inf" if math.isinf(value) else repr(value)


def _counter_base(name: str) -> str:
    """ingress-nginx serves ``..._requests``, the parser reports ``..._requests_total``."""
    return name.removesuffix("_total")


_KEPT = frozenset({"namespace", "ingress", "host", "path", "service", "router", "le"})


def _rest(sample: Sample) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k not in _KEPT)


def read_samples(controller: ControllerFormat, samples: Iterable[Sample]) -> Reading:
    """The controller's counters in one scrape."""
    by_name: dict[str, list[Sample]] = {}
    for sample in samples:
        by_name.setdefault(_counter_base(sample.name), []).append(sample)
    reading: Reading = {}
    for requests_name, buckets in controller.families:
        requests = _counter_base(requests_name)
        if requests not in by_name and buckets not in by_name:
            continue
        for sample in by_name.get(requests, ()):
            status = sample.labels.get(controller.status_label, "")
            reading[(controller.labels(sample), "status", status, _rest(sample))] = sample.value
        for sample in by_name.get(buckets, ()):
            le = sample.labels.get("le")
            if le is None:
                continue
            key = (controller.labels(sample), "le", bound_text(le), _rest(sample))
            reading[key] = sample.value
        break
    return reading


def read_exposition(controller: ControllerFormat, text: str) -> Reading:
    """``read_samples`` over a /metrics text (raises ``ExpositionError`` if broken)."""
    return read_samples(controller, parse_samples(text, controller.wanted))
