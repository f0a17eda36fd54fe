"""A process that ingests into a history file as fast as a busy fleet would, until killed.

Started by ``test_crash_safety`` as ``python -m tests.store.crash_child FILE FIRST_TICK``.
Each tick is one scrape of every node, 15 simulated seconds after the previous one, so
windows are sealed, rollups compacted and retention run while the test kills it. Every
scrape carries its tick number and the wall-clock time it was handed to the store, so the
test can tell exactly what was lost.
"""

from __future__ import annotations

import sys
import time

from headless_agent.detect.anomaly import (
    Anomaly,
    AnomalyKey,
    Severity,
    Transition,
    TransitionType,
)
from headless_agent.store import (
    AuditEntry,
    HistoryStore,
    NodeSamples,
    SeriesLayout,
    TierSpec,
    WriterOptions,
)

CLUSTER = "crash"
NODES = 20
T0 = 1_750_000_000.0
TICK = 15.0
#: seconds between ticks: a few hundred scrapes of 20 nodes × 40 series a second
PACE = 0.006
#: small windows and short retention, so kills land while windows are sealed, rollups
#: compacted and old chunks deleted, not only during plain inserts
LAYOUT = SeriesLayout(
    raw=TierSpec("raw", 15.0, 600.0, 3600.0),
    rollups=(TierSpec("1m", 60.0, 1800.0, 7200.0), TierSpec("5m", 300.0, 3600.0, 86400.0)),
    seal_delay=30.0,
)
OPTIONS = WriterOptions(retention_interval=0.5)


class SimClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def scrape(node: int, tick: int, wall: float) -> NodeSamples:
    gauges = {f"gauge_{i}": round((tick * (i + 1) + node) % 997 / 10, 1) for i in range(30)}
    gauges["tick"] = float(tick)
    gauges["wall"] = wall
    counters = {f"counter_{i}_total": float(tick * (i + 7) + node) for i in range(8)}
    return NodeSamples(f"node-{node:02d}", T0 + tick * TICK, gauges, counters)


def transition(tick: int) -> Transition:
    kind = TransitionType.OPENED if tick % 20 == 0 else TransitionType.RESOLVED
    at = T0 + tick * TICK
    anomaly = Anomaly(
        key=AnomalyKey(CLUSTER, "Pod", "default", "web", "CrashLoopBackOff"),
        severity=Severity.CRITICAL,
        message_id="anomaly.crashloop",
        params=(("tick", str(tick)),),
        first_seen=at,
        last_seen=at,
        count=1,
        members=("web-1",),
        resolved_at=at if kind is TransitionType.RESOLVED else None,
    )
    return Transition(kind, anomaly)


def main(argv: list[str]) -> None:
    path, first_tick = argv[0], int(argv[1])
    clock = SimClock(T0 + first_tick * TICK)
    store = HistoryStore.open(path, layout=LAYOUT, clock=clock, check="none", options=OPTIONS)
    print("ready", repr(time.time()), flush=True)
    tick = first_tick
    while True:
        # The store's clock trails the scrapes (as wall time trails nothing in real life:
        # simulated time runs ~7,000 times faster here, so "now" must not run ahead of
        # what the writer has been handed yet).
        clock.now = T0 + (tick - 200) * TICK
        wall = time.time()
        store.record_node_samples(CLUSTER, [scrape(n, tick, wall) for n in range(NODES)])
        if tick % 10 == 0:
            store.record_transition(CLUSTER, transition(tick))
            store.record_audit(
                AuditEntry(
                    T0 + tick * TICK, "crash-test", "tick", "ok", CLUSTER, parameters={"tick": tick}
                )
            )
        tick += 1
        time.sleep(PACE)


if __name__ == "__main__":
    main(sys.argv[1:])
