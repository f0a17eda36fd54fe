"""A cluster watched only in part — its pods' watch stalled and cannot be opened again —
is an incident of its own once it lasts, and its recovery a resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import AlertConfig, Channel, Grouping, Rule
from headless_agent.detect.anomaly import Severity
from headless_agent.hub import Hub
from headless_agent.kube.errors import Unreachable
from headless_agent.kube.health import ClusterHealth, ConnectionState
from headless_agent.store import HistoryStore
from tests.alerts.receivers import wait_until


async def test_failing_watches_are_an_incident_and_their_return_a_resolve(
    tmp_path: Path,
) -> None:
    recovered = trio.Event()

    async def partly(state: object, health: ClusterHealth) -> None:
        for kind in ("pods", "nodes"):
            health.listing(kind)
            health.watching(kind, 3)
        await trio.sleep(0.1)
        health.failed("pods", Unreachable("no watch event for pods in 90 s; reopening failed"))
        await recovered.wait()
        health.watching("pods", 3)
        await trio.sleep_forever()

    store = HistoryStore.open(tmp_path / "h.sqlite3")
    channel = Channel("hook", "webhook", "en", {"url": "http://127.0.0.1:1"})
    config = AlertConfig(
        {"hook": channel},
        (Rule("clusters", ("hook",), Severity.WARNING, frozenset({"ClusterDegraded"})),),
        Grouping(group_wait=0.2, group_interval=0.5),
        unreachable_after=1.5,
    )
    hub = Hub()
    Alerting(config, store).attach(hub)
    handle = hub.add_cluster("edge", "test", partly)  # type: ignore[arg-type]

    def outbox() -> list[dict[str, Any]]:
        store.flush()
        written = store.alert_outbox(states=("pending", "failed"), in_order=True)
        return [dict(a.payload) for a in written]

    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        await wait_until(
            lambda: handle.health.snapshot.state is ConnectionState.DEGRADED, 5, "degraded"
        )
        await trio.sleep(0.8)
        assert outbox() == []  # not yet: a reconnect's blip is not news
        await wait_until(lambda: outbox(), 10, "the degraded alert")
        [firing] = outbox()
        [alert] = firing["alerts"]
        assert (alert["reason"], alert["severity"]) == ("ClusterDegraded", "warning")
        assert ["detail", "no watch event for pods in 90 s; reopening failed"] in alert["params"]
        recovered.set()
        await wait_until(lambda: len(outbox()) == 2, 10, "the resolve")
        assert outbox()[1]["status"] == "resolved"
        nursery.cancel_scope.cancel()
    store.close()
