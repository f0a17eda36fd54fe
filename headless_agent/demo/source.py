"""The demo source: feeds a simulated cluster into a ClusterState as informers would.

It lists every kind once (so the first view is a full, healthy-looking cluster with the
problems the script starts with), then plays the cluster's script of incidents forever.
``speed`` compresses time for tests and screenshots.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio

from headless_agent.demo.fleet import FLEET, ClusterSpec, DemoCluster
from headless_agent.demo.scenarios import SCRIPTS
from headless_agent.kube.health import ClusterHealth
from headless_agent.kube.resources import WATCHED_KINDS
from headless_agent.state.cluster_state import ClusterState

DEMO_PREFIX = "demo-"


async def run_demo_cluster(
    spec: ClusterSpec,
    state: ClusterState,
    health: ClusterHealth,
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """Play one demo cluster until cancelled."""
    cluster = DemoCluster.build(spec, clock())
    for resource in WATCHED_KINDS:
        health.expect(resource.kind)
    for resource in WATCHED_KINDS:
        state.replace(resource.kind, cluster.raw_objects(resource.kind))
        health.watching(resource.kind, state.count(resource.kind))
    script = SCRIPTS[spec.name](cluster)
    while True:
        for delay, step in script:
            await trio.sleep(delay / speed)
            cluster.now = clock()
            for kind, event_type, raw in step(cluster):
                state.apply(kind, event_type, raw)


def demo_specs() -> tuple[ClusterSpec, ...]:
    return FLEET
