"""Bad input gets the right status and a clear message, and the agent keeps serving."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headless_agent.agent.api import ApiLimits
from headless_agent.agent.client import AgentSession, AgentTarget, AnomalyMirror
from headless_agent.agent.journal import JournalLimits
from headless_agent.agent.protocol import ProtocolError
from headless_agent.agent.relay import RelayLimits
from headless_agent.hub import Hub
from headless_agent.kube.health import ClusterHealth
from headless_agent.state.cluster_state import ClusterState
from tests.agent.conftest import OPERATOR, PROBE, VIEWER, ServedAgent, serve_agent
from tests.agent.test_relay_demo import probe_batch


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def agent(nursery: trio.Nursery) -> AsyncIterator[ServedAgent]:
    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_demo(speed=1)[0]
    yield await serve_agent(
        nursery,
        hub,
        handle,
        limits=ApiLimits(max_body=64 * 1024, rate=50, burst=20, body_seconds=2),
        relay_limits=RelayLimits(changes=JournalLimits(max_lines=50)),
        keep_alive=2.0,
    )


async def test_tokens_and_roles(agent: ServedAgent) -> None:
    async with httpx.AsyncClient(base_url=agent.url) as http:
        missing = await http.get("/v1/snapshot")
        assert missing.status_code == 401
        assert "bearer token is required" in missing.json()["error"]
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await http.get("/v1/snapshot", headers=_auth("x" * 32))
        assert wrong.status_code == 401
        assert "x" * 32 not in wrong.text  # a presented token is never echoed
        basic = await http.get("/v1/snapshot", headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert basic.status_code == 401
        probe_reads = await http.get("/v1/snapshot", headers=_auth(PROBE))
        assert probe_reads.status_code == 403 and "probe token" in probe_reads.json()["error"]
        viewer_pushes = await http.post("/v1/node-samples", content=b"{}", headers=_auth(VIEWER))
        assert viewer_pushes.status_code == 403
        for token in (VIEWER, OPERATOR):
            snapshot = await http.get("/v1/snapshot", headers=_auth(token))
            assert snapshot.status_code == 200
            assert snapshot.headers["content-encoding"] == "gzip"  # httpx asks for it
            assert snapshot.json()["protocol"] == 1
        # Probes of health and metrics need no token; metrics count the refusals.
        assert (await http.get("/healthz")).json() == {"status": "serving"}
        metrics = (await http.get("/metrics")).text
        assert 'atlhyper_agent_requests_total{route="snapshot",status="401"} 3.0' in metrics
        assert VIEWER not in metrics


async def test_bad_bodies_are_refused_with_reasons(agent: ServedAgent) -> None:
    now = time.time()
    async with httpx.AsyncClient(base_url=agent.url, headers=_auth(PROBE)) as http:
        garbage = await http.post("/v1/node-samples", content=b"\x00\xffnot json")
        assert garbage.status_code == 400 and "not JSON" in garbage.json()["error"]
        wrong_version = await http.post(
            "/v1/node-samples", content=probe_batch("n1", [now], version=99)
        )
        assert wrong_version.status_code == 422
        assert "schema_version 99 is not supported" in wrong_version.json()["error"]
        oversize = await http.post("/v1/node-samples", content=b"x" * (65 * 1024))
        assert oversize.status_code == 413
        # A zip bomb: small on the wire, huge inflated.
        bomb = gzip.compress(b'{"schema_version": 1, "pad": "' + b"a" * (40 * 2**20) + b'"}')
        assert len(bomb) < 64 * 1024
        inflated = await http.post("/v1/node-samples", content=bomb)
        assert inflated.status_code == 413
        broken = json.loads(gzip.decompress(probe_batch("n1", [now])))
        broken["samples"][0]["values"][0]["value"] = "high"
        malformed = await http.post("/v1/node-samples", content=json.dumps(broken).encode())
        assert malformed.status_code == 400
        assert "samples[0].values[0].value" in malformed.json()["error"]
        good = await http.post("/v1/node-samples", content=probe_batch("n1", [now]))
        assert good.status_code == 200 and good.json() == {"accepted": 1}


async def test_cursors_and_parameters(agent: ServedAgent) -> None:
    async with httpx.AsyncClient(base_url=agent.url, headers=_auth(VIEWER)) as http:
        assert (await http.get("/v1/stream")).status_code == 400
        assert (await http.get("/v1/stream", params={"cursor": "soon"})).status_code == 400
        ahead = await http.get("/v1/stream", params={"cursor": 10**9})
        assert ahead.status_code == 410 and "snapshot" in ahead.json()["error"]
        # The journal keeps 50 lines here: after 60 more, line 1 is gone.
        for _ in range(60):
            agent.relay.changes.append(b'{"t":"other"}')
        too_old = await http.get("/v1/stream", params={"cursor": 0})
        assert too_old.status_code == 410 and "older than" in too_old.json()["error"]
        assert (await http.get("/v1/node-samples", params={"after": "x"})).status_code == 400


async def test_rate_limit_per_token(agent: ServedAgent) -> None:
    async with httpx.AsyncClient(base_url=agent.url) as http:
        statuses = [
            (await http.get("/v1/node-samples", headers=_auth(VIEWER))).status_code
            for _ in range(40)
        ]
        assert statuses.count(429) > 0 and statuses[:20] == [200] * 20
        limited = await http.get("/v1/node-samples", headers=_auth(VIEWER))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # Another token has its own allowance.
        other = await http.get("/v1/node-samples", headers=_auth(OPERATOR))
        assert other.status_code == 200


async def test_slow_clients_neither_hold_on_nor_block_others(agent: ServedAgent) -> None:
    host, port = agent.url.removeprefix("http://").split(":")
    # Slowloris: half a request head, then a byte now and then.
    slow = await trio.open_tcp_stream(host, int(port))
    await slow.send_all(b"GET /v1/snapshot HTTP/1.1\r\nHost: x\r\n")
    # A body that never finishes.
    dribble = await trio.open_tcp_stream(host, int(port))
    await dribble.send_all(
        b"POST /v1/node-samples HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + PROBE.encode()
        + b"\r\nContent-Length: 1000\r\n\r\n{"
    )
    async with httpx.AsyncClient(base_url=agent.url, headers=_auth(VIEWER)) as http:
        started = time.monotonic()
        answer = await http.get("/v1/snapshot")
        assert answer.status_code == 200 and time.monotonic() - started < 2

    reply = b""
    with trio.fail_after(10):
        while b"did not arrive" not in reply:
            chunk = await dribble.receive_some(4096)
            assert chunk, reply
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408")

    closed = False
    with trio.move_on_after(10):
        while True:
            await trio.sleep(0.5)
            try:
                await slow.send_all(b"X")
                if await _closed(slow):
                    closed = True
                    break
            except trio.BrokenResourceError:
                closed = True
                break
    assert closed, "the slow client's connection is still open"


async def _closed(stream: trio.SocketStream) -> bool:
    with trio.move_on_after(0.1):
        return await stream.receive_some(1) == b""
    return False


# --- the hub reading what an agent says -------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
_line = st.fixed_dictionaries(
    {"seq": st.integers(), "t": st.sampled_from(["change", "anomaly", "health", "other"])},
    optional={
        "kind": st.sampled_from(["Pod", "Node", "Nope"]) | st.text(),
        "ns": _json,
        "name": _json,
        "record": _json,
        "type": st.sampled_from(["opened", "resolved", "x"]),
        "at": _json,
        "anomaly": _json,
        "health": _json,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(line=_line | _json)
def test_whatever_an_agent_sends_the_hub_keeps_its_state(line: object) -> None:
    state = ClusterState("c")
    session = AgentSession(
        "c", AgentTarget("http://x", "t" * 20), state, ClusterHealth("c"), AnomalyMirror("c"), None
    )
    try:
        session._apply(line)
    except ProtocolError:
        return
    # Accepted: then it was well-formed, and the state holds only real records.
    for kind in state.kinds():
        for record in state.records(kind):
            assert record.name is not None


async def test_commands_need_an_operator_and_an_agent_that_runs_them(agent: ServedAgent) -> None:
    command = {"action": "cordon", "kind": "Node", "name": "n1", "key": "k-1"}
    async with httpx.AsyncClient(base_url=agent.url) as http:
        viewer = await http.post("/v1/commands", json=command, headers=_auth(VIEWER))
        assert viewer.status_code == 403 and "viewer token may not" in viewer.json()["error"]
        # This agent was started without a command path (--read-only).
        refused = await http.post("/v1/commands", json=command, headers=_auth(OPERATOR))
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
        unknown = await http.get("/v1/commands/k-1", headers=_auth(VIEWER))
        assert unknown.status_code == 404
