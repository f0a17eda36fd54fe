"""A hub watching a cluster through an agent sees what a hub watching it directly sees.

The agent here runs in-process over a demo cluster (the real API, on Hypercorn); the
end-to-end test against the real control plane is in test_agent_live.py.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
import trio

from headless_agent.agent.client import AgentTarget
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.store import HistoryStore, SeriesSelector
from tests.agent.conftest import PROBE, VIEWER, serve_agent
from tests.cluster.engine_helpers import wait_for


def _objects(handle: ClusterHandle) -> dict[str, set[tuple[str, str]]]:
    state = handle.state
    return {kind: {(r.namespace, r.name) for r in state.records(kind)} for kind in state.kinds()}


def _anomalies(handle: ClusterHandle) -> set[tuple[str, str, str, str]]:
    return {
        (a.key.kind, a.key.namespace, a.key.name, a.key.reason)
        for a in handle.detector.open_anomalies()
    }


def probe_batch(node: str, timestamps: list[float], version: int = 1) -> bytes:
    return gzip.compress(
        json.dumps(
            {
                "schema_version": version,
                "node": node,
                "probe_version": "test",
                "sent_at": timestamps[-1],
                "dropped_samples": 0,
                "fields": {
                    "load1": {"kind": "gauge", "unit": "", "labels": [], "help": "load"},
                    "cpu_seconds_total": {
                        "kind": "counter",
                        "unit": "seconds",
                        "labels": ["cpu"],
                        "help": "cpu",
                    },
                },
                "disabled": [],
                "samples": [
                    {
                        "timestamp": t,
                        "elapsed_seconds": None,
                        "values": [
                            {"name": "load1", "value": 0.5 + i},
                            {
                                "name": "cpu_seconds_total",
                                "labels": {"cpu": "0"},
                                "value": 10.0 * i,
                            },
                        ],
                    }
                    for i, t in enumerate(timestamps)
                ],
            }
        ).encode()
    )


async def test_a_hub_through_the_agent_sees_the_same_cluster(tmp_path: Path) -> None:
    source = Hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(source.run)
        direct = next(h for h in source.watch_demo(speed=30) if h.name == "demo-prod-eu")
        agent = await serve_agent(nursery, source, direct)

        viewer = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
        await nursery.start(viewer.run)
        # Samples fetched every 2 s here (15 s by default), so a loaded machine does not
        # make the wait below a race with the fetch interval.
        target = AgentTarget(agent.url, VIEWER, sample_interval=2.0)
        relayed = viewer.watch_agent("prod-via-agent", target)

        await wait_for(
            lambda: relayed.health.snapshot.state.value == "synced", 20, "relayed cluster synced"
        )
        await wait_for(lambda: _objects(relayed) == _objects(direct), 20, "same objects")
        # The demo's crash loop opens a few seconds in (time compressed 30x).
        await wait_for(lambda: _anomalies(direct), 20, "an anomaly in the source")
        await wait_for(lambda: _anomalies(relayed) == _anomalies(direct), 10, "same anomalies")
        assert all(a.key.cluster == "prod-via-agent" for a in relayed.detector.open_anomalies())
        # A pod's record arrives whole, not just its name.
        pod = next(iter(direct.state.records("Pod")))
        assert relayed.state.get("Pod", pod.namespace, pod.name) == pod

        # Node samples pushed by a probe reach the hub's history.
        now = time.time()
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{agent.url}/v1/node-samples",
                content=probe_batch("worker-1", [now - 30, now - 15, now]),
                headers={"Authorization": f"Bearer {PROBE}", "Content-Encoding": "gzip"},
            )
        assert answer.status_code == 200 and answer.json() == {"accepted": 3}
        store = viewer.history
        assert store is not None

        def stored() -> int:
            store.flush()
            points = store.query_series(
                SeriesSelector("prod-via-agent", ("worker-1",), ("load1",)), now - 60, now + 1
            )
            return sum(len(p.times) for p in points)

        await wait_for(lambda: stored() == 3, 30, "samples in the history")
        nursery.cancel_scope.cancel()
