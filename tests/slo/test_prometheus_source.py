"""Minutes read from a Prometheus server's query API instead of the controllers: the
PromQL point at T is the minute before T, mapped to routes like scraped series."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from headless_agent.slo.collector import SloCollector
from headless_agent.slo.prometheus_source import PrometheusError, PrometheusSource
from headless_agent.state.cluster_state import ClusterState
from headless_agent.store import HistoryStore

NOW = 1_800_000_000.0 // 60 * 60 + 30  # half a minute into a minute


def _answer(request: httpx.Request) -> httpx.Response:
    query = request.url.params["query"]
    start, end = float(request.url.params["start"]), float(request.url.params["end"])
    times = [start + 60 * i for i in range(int((end - start) / 60) + 1)]
    labels = {
        "namespace": "shop",
        "ingress": "shop-web",
        "host": "shop.example.com",
        "path": "/checkout",
        "service": "checkout",
    }
    result: list[dict[str, Any]] = []
    if "nginx_ingress_controller_requests" in query:
        result = [
            {"metric": {**labels, "status": "200"}, "values": [[t, "99"] for t in times]},
            {"metric": {**labels, "status": "503"}, "values": [[t, "1"] for t in times]},
        ]
    elif "nginx_ingress_controller_request_duration_seconds_bucket" in query:
        result = [
            {"metric": {**labels, "le": le}, "values": [[t, count] for t in times]}
            for le, count in (("0.25", "80"), ("1", "100"), ("+Inf", "100"))
        ]
    elif "broken" in request.url.host:
        return httpx.Response(400, json={"status": "error", "error": "parse error"})
    return httpx.Response(
        200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
    )


async def test_minutes_come_from_prometheus_and_are_stored(tmp_path: Path) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    source = PrometheusSource("http://prometheus:9090", client=client)
    store = HistoryStore.open(tmp_path / "h.sqlite3")
    clock = [NOW]
    collector = SloCollector(store, clock=lambda: clock[0], prometheus={"prod": source})
    state = ClusterState("prod")
    first = await collector.collect_from_prometheus("prod", state, source)
    # The hour before the current minute, one minute per PromQL point.
    minute = NOW // 60 * 60
    assert [w.window_start for w in first] == [minute - 3600 + 60 * i for i in range(60)]
    assert {w.slo for w in first} == {"shop.example.com/checkout"}
    assert (first[-1].good, first[-1].total) == (99, 100)
    assert dict(first[-1].latency) == {0.25: 80, 1.0: 100, math.inf: 100}
    clock[0] += 120
    again = await collector.collect_from_prometheus("prod", state, source)
    assert [w.window_start for w in again] == [minute, minute + 60]  # only what is new
    store.flush()
    assert len(store.slo_traffic("prod", minute - 3600, minute + 120)) == 62
    store.close()
    await client.aclose()
    with pytest.raises(PrometheusError, match="parse error"):
        broken = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
        await PrometheusSource("http://broken:9090", client=broken).query_range("x", 0, 60, 60)
