"""Simulated node metrics for the demo fleet, so its charts have something to show.

They have the names nodeprobe uses (CPU, memory, load, network) and follow a slow daily
wave with noise, written into the run's (throwaway) history: the last six hours at once,
then one sample per node every 15 s of demo time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

import numpy as np
import trio

from headless_agent.store import HistoryStore, NodeSampleBlock, NodeSamples

INTERVAL = 15.0
BACKFILL = 6 * 3600.0
IDLE = 'cpu_usage_percent{mode="idle"}'
RX = 'network_receive_bytes_per_second{interface="eth0"}'
TX = 'network_transmit_bytes_per_second{interface="eth0"}'
NAMES = (IDLE, "memory_used_percent", "memory_used_bytes", "load1", RX, TX)


def _values(node: str, at: float, rng: random.Random) -> list[float]:
    phase = (hash(node) % 1000) / 1000 * 2 * math.pi
    wave = math.sin(at / 5400 * 2 * math.pi + phase)
    busy = max(2.0, min(97.0, 35 + 20 * wave + rng.gauss(0, 4)))
    memory = max(5.0, min(95.0, 55 + 10 * math.sin(at / 20000 + phase) + rng.gauss(0, 1)))
    return [
        round(100 - busy, 1),
        round(memory, 1),
        float(int(memory / 100 * 16 * 2**30)),
        round(busy / 25 + abs(rng.gauss(0, 0.2)), 2),
        float(int(max(0.0, 4e6 + 3e6 * wave + rng.gauss(0, 5e5)))),
        float(int(max(0.0, 1.5e6 + 1e6 * wave + rng.gauss(0, 2e5)))),
    ]


def backfill(store: HistoryStore, cluster: str, nodes: Sequence[str], now: float) -> None:
    rng = random.Random(cluster)
    times = np.arange(now - BACKFILL, now, INTERVAL)
    for node in nodes:
        values = np.array([_values(node, t, rng) for t in times], dtype=np.float64)
        store.record_node_samples(cluster, NodeSampleBlock(node, times, NAMES, values))


async def simulate(
    store: HistoryStore,
    cluster: str,
    nodes: Sequence[str],
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """Until cancelled: the last hours at once, then a sample per node per interval."""
    rng = random.Random(cluster + "-live")
    backfill(store, cluster, nodes, clock())
    while True:
        await trio.sleep(INTERVAL / speed)
        now = clock()
        store.record_node_samples(
            cluster,
            [
                NodeSamples(n, now, dict(zip(NAMES, _values(n, now, rng), strict=True)))
                for n in nodes
            ],
        )
