"""An agent served in-process (the real API on Hypercorn, on a free loopback port)."""

from __future__ import annotations

from dataclasses import dataclass

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from headless_agent.agent.api import AgentApi, ApiLimits
from headless_agent.agent.relay import Relay, RelayLimits
from headless_agent.agent.tokens import Role, TokenBook
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.ops.runner import Operations

VIEWER = "viewer-token-0123456789abcdef"
OPERATOR = "operator-token-0123456789abcdef"
PROBE = "probe-token-0123456789abcdef"
TOKENS = {Role.VIEWER: [VIEWER], Role.OPERATOR: [OPERATOR], Role.PROBE: [PROBE]}


@dataclass
class ServedAgent:
    url: str
    relay: Relay
    api: AgentApi


async def serve_agent(
    nursery: trio.Nursery,
    hub: Hub,
    handle: ClusterHandle,
    *,
    limits: ApiLimits | None = None,
    relay_limits: RelayLimits | None = None,
    keep_alive: float = 15.0,
    host: str = "127.0.0.1",
    operations: bool = False,
) -> ServedAgent:
    relay = Relay(hub, handle, relay_limits)
    nursery.start_soon(relay.run)
    runner = Operations(hub, audit=relay.record_audit, actor="agent") if operations else None
    api = AgentApi(relay, TokenBook(TOKENS), limits, operations=runner)
    config = Config()
    config.bind = [f"{host}:0"]
    config.accesslog = None
    config.keep_alive_timeout = keep_alive
    [url] = await nursery.start(serve, api.app, config)
    return ServedAgent(url, relay, api)
