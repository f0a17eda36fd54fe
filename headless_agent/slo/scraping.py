"""Finding the ingress controllers' pods and reading their /metrics.

Controllers are found in the cluster state by their usual labels
(``app.kubernetes.io/name=ingress-nginx`` on port 10254, ``app.kubernetes.io/name=traefik``
on port 9100); users add others with a ``ControllerSelector``. A pod is read through the
API server's pod proxy (``/api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics``) with the
user's own kubeconfig credentials: nothing to install, no port-forward, and the API
server's RBAC decides (``pods/proxy`` ``get``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from headless_agent.kube.api import KubeApi
from headless_agent.slo.controllers import FORMATS, ControllerFormat
from headless_agent.state.records import PodRecord, Record


@dataclass(frozen=True, slots=True)
class ControllerSelector:
    """Which pods are controllers of a format, and where they serve their metrics."""

    format: str  # "ingress-nginx" | "traefik"
    labels: tuple[tuple[str, str], ...]
    port: int | str
    path: str = "metrics"
    namespace: str = ""  # empty: any

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"no controller format {self.format!r} (known: {', '.join(FORMATS)})")

    def matches(self, pod: PodRecord) -> bool:
        labels = dict(pod.labels)
        return (not self.namespace or pod.namespace == self.namespace) and all(
            labels.get(key) == value for key, value in self.labels
        )


DEFAULT_SELECTORS = (
    ControllerSelector("ingress-nginx", (("app.kubernetes.io/name", "ingress-nginx"),), 10254),
    ControllerSelector("traefik", (("app.kubernetes.io/name", "traefik"),), 9100),
)


@dataclass(frozen=True, slots=True)
class ControllerPod:
    namespace: str
    name: str
    uid: str
    controller: ControllerFormat
    port: int | str
    path: str

    @property
    def source(self) -> str:
        """One counter history per pod incarnation (a recreated pod starts from zero)."""
        return f"{self.namespace}/{self.name}/{self.uid}"

    @property
    def proxy_path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.name}:{self.port}/proxy/{self.path}"


def discover_controllers(
    pods: Iterable[Record], selectors: Iterable[ControllerSelector] = DEFAULT_SELECTORS
) -> list[ControllerPod]:
    """Running, not terminating controller pods (the first selector that matches wins)."""
    found = []
    chosen = tuple(selectors)
    for pod in pods:
        if not isinstance(pod, PodRecord) or pod.phase != "Running" or pod.deleting:
            continue
        for selector in chosen:
            if selector.matches(pod):
                found.append(
                    ControllerPod(
                        pod.namespace,
                        pod.name,
                        pod.uid,
                        FORMATS[selector.format],
                        selector.port,
                        selector.path.lstrip("/"),
                    )
                )
                break
    return sorted(found, key=lambda p: (p.namespace, p.name))


async def scrape_through_api(api: KubeApi, pod: ControllerPod) -> str:
    """The pod's /metrics text through the API server (raises ``KubeError``)."""
    return await api.get_text(pod.proxy_path)
