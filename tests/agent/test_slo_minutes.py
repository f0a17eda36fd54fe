"""SLO minutes of a cluster watched through its agent: the agent scrapes the ingress
controllers, keeps the finished minutes in a bounded buffer, serves them at
``GET /v1/slo-minutes``, and a hub stores them as if it had scraped them itself."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import httpx
import trio

from headless_agent.agent.client import (
    SLO_MINUTES,
    AgentSession,
    AgentTarget,
    AnomalyMirror,
)
from headless_agent.agent.journal import JournalLimits
from headless_agent.agent.protocol import read_slo_minute, slo_minute_document
from headless_agent.agent.relay import RelayLimits
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.health import ClusterHealth
from headless_agent.slo.collector import SloCollector
from headless_agent.slo.scraping import ControllerPod, ControllerSelector
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import PodRecord
from headless_agent.store import HistoryStore, SloWindow
from tests.agent.conftest import PROBE, VIEWER, ServedAgent, serve_agent
from tests.cluster.engine_helpers import wait_for
from tests.slo.exporter import NginxRoute, Requests, TrafficExporter, spread

START = 1_800_000_000.0
CHECKOUT = NginxRoute("shop", "storefront", "shop.example.com", "/checkout", "checkout")
CART = NginxRoute("shop", "storefront", "shop.example.com", "/cart", "cart")


def _controller_selector(handle: ClusterHandle) -> ControllerSelector:
    """A demo pod stands in for an ingress-nginx controller (its /metrics are faked)."""
    pod = next(
        p
        for p in handle.state.records("Pod")
        if isinstance(p, PodRecord) and p.phase == "Running" and not p.deleting
    )
    return ControllerSelector("ingress-nginx", pod.labels, 10254, namespace=pod.namespace)


async def _book_minutes(
    agent: ServedAgent, handle: ClusterHandle, minutes: range, clock: list[float]
) -> list[SloWindow]:
    """Drive the agent's collector over ``minutes`` of scripted traffic; the windows it
    booked (and handed to the agent's buffer)."""
    exporter = TrafficExporter([CHECKOUT, CART])
    collector = SloCollector(
        agent.relay, selectors=[_controller_selector(handle)], clock=lambda: clock[0]
    )

    async def fetch(pod: ControllerPod) -> str:
        return exporter.render()

    booked = []
    for minute in minutes:
        exporter.apply(
            minute,
            [
                Requests(
                    CHECKOUT,
                    [("GET", "200", 40 + minute), ("GET", "503", minute % 3)],
                    spread(0.02, 0.4),
                ),
                Requests(CART, [("POST", "200", 10)], spread(0.05, 2.0)),
            ],
        )
        booked += await collector.collect(handle.name, handle.state, fetch)
        clock[0] += 60
    return booked


async def test_a_hub_through_the_agent_stores_the_minutes_the_agent_booked(
    tmp_path: Path,
) -> None:
    source = Hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(source.run)
        prod = next(h for h in source.watch_demo(speed=30) if h.name == "demo-prod-eu")
        agent = await serve_agent(nursery, source, prod)
        await prod.first_sync.wait()
        clock = [START]
        booked = await _book_minutes(agent, prod, range(5), clock)
        assert len(booked) >= 6 and {w.slo for w in booked} == {
            "shop.example.com/checkout",
            "shop.example.com/cart",
        }
        assert any(math.isinf(bound) for w in booked for bound, _ in w.latency)
        assert len(agent.relay.slo_minutes) == len(booked)

        viewer = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
        await nursery.start(viewer.run)
        viewer.watch_agent("prod-via-agent", AgentTarget(agent.url, VIEWER, sample_interval=0.2))
        store = viewer.history
        assert store is not None

        def stored() -> list[SloWindow]:
            store.flush()
            return store.slo_traffic("prod-via-agent", START - 60, clock[0] + 60)

        def key(w: SloWindow) -> tuple[float, str]:
            return (w.window_start, w.slo)

        await wait_for(lambda: sorted(stored(), key=key) == sorted(booked, key=key), 30, "minutes")
        # Minutes booked later arrive too (from the hub's cursor, the rest already there).
        booked += await _book_minutes(agent, prod, range(5, 8), clock)
        await wait_for(lambda: sorted(stored(), key=key) == sorted(booked, key=key), 30, "more")
        # The hub does not scrape an agent's cluster itself: nothing under the other name.
        assert store.slo_traffic("demo-prod-eu", START - 60, clock[0] + 60) == []
        nursery.cancel_scope.cancel()


class _Minutes:
    """A history that only keeps what it is given."""

    def __init__(self) -> None:
        self.minutes: list[SloWindow] = []

    def record_slo_minutes(self, cluster: str, windows: Sequence[SloWindow]) -> None:
        assert cluster == "c"
        self.minutes += windows


def _minute(index: int) -> SloWindow:
    return SloWindow(
        f"shop.example.com/{index}",
        START + 60 * index,
        60.0,
        9,
        10,
        (("200", 9.0), ("503", 1.0)),
        ((0.1, 4.0), (1.0, 9.0), (math.inf, 10.0)),
    )


def test_a_minute_crosses_the_wire_whole() -> None:
    import orjson

    window = _minute(3)
    assert read_slo_minute(orjson.loads(orjson.dumps(slo_minute_document(window)))) == window


async def test_a_broken_connection_resumes_from_the_last_minute(tmp_path: Path) -> None:
    source = Hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(source.run)
        prod = next(h for h in source.watch_demo(speed=30) if h.name == "demo-prod-eu")
        agent = await serve_agent(
            nursery, source, prod, relay_limits=RelayLimits(slo_minutes=JournalLimits(max_lines=5))
        )
        relay = agent.relay
        history = _Minutes()
        session = AgentSession(
            "c",
            AgentTarget(agent.url, VIEWER),
            ClusterState("c"),
            ClusterHealth("c"),
            AnomalyMirror("c"),
            history,  # type: ignore[arg-type]
        )
        headers = {"Authorization": f"Bearer {VIEWER}"}
        relay.record_slo_minutes(prod.name, [_minute(i) for i in range(3)])
        relay.record_slo_minutes("another-cluster", [_minute(99)])  # not this agent's
        async with httpx.AsyncClient(base_url=agent.url, headers=headers) as client:
            await session._fetch_slo_minutes(client)
        assert history.minutes == [_minute(i) for i in range(3)]
        assert session.cursors[SLO_MINUTES] == 3

        # The connection broke; meanwhile two more minutes. A new connection asks from 3.
        relay.record_slo_minutes(prod.name, [_minute(3), _minute(4)])
        async with httpx.AsyncClient(base_url=agent.url, headers=headers) as client:
            await session._fetch_slo_minutes(client)
        assert history.minutes == [_minute(i) for i in range(5)]

        # Away longer than the buffer (5 lines): what it still has, and the gap is seen.
        relay.record_slo_minutes(prod.name, [_minute(i) for i in range(5, 12)])
        async with httpx.AsyncClient(base_url=agent.url, headers=headers) as client:
            await session._fetch_slo_minutes(client)
        assert history.minutes[5:] == [_minute(i) for i in range(7, 12)]
        assert session.gaps[SLO_MINUTES] == 1 and session.cursors[SLO_MINUTES] == 12

        # A restarted agent numbers from 1 again: the hub reads all it has.
        session.cursors[SLO_MINUTES] = 40
        async with httpx.AsyncClient(base_url=agent.url, headers=headers) as client:
            await session._fetch_slo_minutes(client)
        assert history.minutes[10:] == [_minute(i) for i in range(7, 12)]
        assert session.cursors[SLO_MINUTES] == 12
        nursery.cancel_scope.cancel()


async def test_slo_minutes_are_for_viewers_paged_and_checked(tmp_path: Path) -> None:
    source = Hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(source.run)
        prod = next(h for h in source.watch_demo(speed=30) if h.name == "demo-prod-eu")
        agent = await serve_agent(nursery, source, prod)
        agent.relay.record_slo_minutes(prod.name, [_minute(i) for i in range(4)])
        viewer = {"Authorization": f"Bearer {VIEWER}"}
        async with httpx.AsyncClient(base_url=agent.url) as http:
            nobody = await http.get("/v1/slo-minutes")
            assert nobody.status_code == 401 and "bearer token" in nobody.json()["error"]
            probe = await http.get("/v1/slo-minutes", headers={"Authorization": f"Bearer {PROBE}"})
            assert probe.status_code == 403 and "probe" in probe.json()["error"]
            for bad in ({"after": "yesterday"}, {"after": "1", "limit": "many"}):
                answer = await http.get("/v1/slo-minutes", params=bad, headers=viewer)
                name = "limit" if "limit" in bad else "after"
                assert answer.status_code == 400 and name in answer.json()["error"]
            posted = await http.post("/v1/slo-minutes", content=b"{}", headers=viewer)
            assert posted.status_code == 405

            everything = (await http.get("/v1/slo-minutes", headers=viewer)).json()
            assert (everything["last"], everything["oldest"]) == (4, 1)
            assert [read_slo_minute(m) for _, m in everything["minutes"]] == [
                _minute(i) for i in range(4)
            ]
            page = await http.get(
                "/v1/slo-minutes", params={"after": 1, "limit": 2}, headers=viewer
            )
            assert [n for n, _ in page.json()["minutes"]] == [2, 3]
            ahead = await http.get("/v1/slo-minutes", params={"after": 99}, headers=viewer)
            assert ahead.status_code == 200 and ahead.json()["minutes"] == []
            assert ahead.json()["last"] == 4  # below the cursor: the hub starts again
            metrics = (await http.get("/metrics")).text
            assert 'atlhyper_agent_journal_lines{journal="slo-minutes"} 4.0' in metrics
        nursery.cancel_scope.cancel()
