"""What happens in the demo fleet over time: a script of incidents per cluster, looping.

Each step is (seconds after the previous step, change). The script covers every kind of
problem users meet first: a crash loop, an OOM kill, a failed image pull during a rollout,
a node going NotReady and back, and a healthy rollout.
"""

from __future__ import annotations

from collections.abc import Callable

from headless_agent.demo.fleet import DemoCluster, WatchEvent

Step = tuple[float, Callable[[DemoCluster], list[WatchEvent]]]

_BAD_IMAGE = "ghcr.io/acme/cart:1.20.0-rc1"


def _script_prod(cluster: DemoCluster) -> list[Step]:
    worker = cluster.node_names[-1]
    return [
        (20, lambda c: c.crash("checkout", "shop", pods=2, restarts=5)),
        (60, lambda c: c.crash("checkout", "shop", pods=3, restarts=7)),
        (60, lambda c: c.heal("checkout", "shop")),
        (40, lambda c: c.rollout("storefront", "shop", "ghcr.io/acme/storefront:4.13.0")),
        (40, lambda c: c.set_node_ready(worker, "False")),
        (60, lambda c: c.set_node_ready(worker, "True")),
        (80, lambda c: []),
    ]


def _script_staging(cluster: DemoCluster) -> list[Step]:
    return [
        (30, lambda c: c.oom_kill("reports", "analytics")),
        (90, lambda c: c.crash("payments", "payments", pods=1, restarts=3)),
        (90, lambda c: c.heal("payments", "payments")),
        (150, lambda c: []),
    ]


def _script_edge(cluster: DemoCluster) -> list[Step]:
    return [
        (45, lambda c: c.rollout("cart", "shop", _BAD_IMAGE, pullable=False)),
        (120, lambda c: c.roll_back("cart", "shop", _BAD_IMAGE)),
        (195, lambda c: []),
    ]


SCRIPTS: dict[str, Callable[[DemoCluster], list[Step]]] = {
    "prod-eu": _script_prod,
    "staging": _script_staging,
    "edge-tokyo": _script_edge,
}
