"""The agent's HTTP API (Starlette, served by Hypercorn on trio): see ``protocol`` for the
documents, and ``tokens`` for who may call what.

Every refusal is JSON ``{"error": "..."}`` with the status that says why: 401 without a
known token, 403 for a role that may not, 400/413/415/422 for bodies the agent cannot
take, 408 for a body that does not arrive in time, 410 for a cursor the agent no longer
has, 429 beyond a caller's rate. A bad request never disturbs the others.
"""

from __future__ import annotations

import gzip
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from headless_agent.agent import protocol
from headless_agent.agent.journal import CursorUnknown
from headless_agent.agent.relay import Relay
from headless_agent.agent.tokens import Caller, Role, TokenBook
from headless_agent.ops.commands import Command, CommandError
from headless_agent.ops.runner import Operations
from nodeprobe.wire import BatchError, BatchTooLarge, UnsupportedSchemaVersion, parse_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiLimits:
    #: largest request body accepted as sent (a probe batch is gzip: a few KiB)
    max_body: int = 4 * 2**20
    #: a body must arrive within this many seconds (slow senders hold no slot forever)
    body_seconds: float = 30.0
    #: requests per second per caller, and the burst allowed above it
    rate: float = 20.0
    burst: float = 60.0
    #: samples per ``GET /v1/node-samples`` answer
    samples_per_answer: int = 5000
    #: SLO minutes per ``GET /v1/slo-minutes`` answer
    slo_minutes_per_answer: int = 2000


class _Refusal(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class _Buckets:
    """A token bucket per caller (by token fingerprint)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, caller: str) -> float:
        """0 if allowed now, else the seconds until it would be."""
        now = self.clock()
        level, since = self._buckets.get(caller, (self.burst, now))
        level = min(self.burst, level + (now - since) * self.rate)
        if level < 1:
            self._buckets[caller] = (level, now)
            return (1 - level) / self.rate
        self._buckets[caller] = (level - 1, now)
        return 0.0


class AgentApi:
    def __init__(
        self,
        relay: Relay,
        tokens: TokenBook,
        limits: ApiLimits | None = None,
        *,
        operations: Operations | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.relay = relay
        #: the agent's command path (None: commands are refused, a read-only agent)
        self.operations = operations
        self.tokens = tokens
        self.limits = limits or ApiLimits()
        self._buckets = _Buckets(self.limits.rate, self.limits.burst, clock)
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "atlhyper_agent_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self._streams = Gauge(
            "atlhyper_agent_streams", "hubs streaming now", registry=self.registry
        )
        lines = Gauge(
            "atlhyper_agent_journal_lines", "lines kept", ["journal"], registry=self.registry
        )
        lines.labels("changes").set_function(lambda: len(relay.changes))
        lines.labels("samples").set_function(lambda: len(relay.samples))
        lines.labels("slo-minutes").set_function(lambda: len(relay.slo_minutes))
        size = Gauge(
            "atlhyper_agent_journal_bytes", "bytes kept", ["journal"], registry=self.registry
        )
        size.labels("changes").set_function(lambda: relay.changes.size)
        size.labels("samples").set_function(lambda: relay.samples.size)
        size.labels("slo-minutes").set_function(lambda: relay.slo_minutes.size)
        dropped = Gauge(
            "atlhyper_agent_journal_dropped",
            "lines dropped by the bounds",
            ["journal"],
            registry=self.registry,
        )
        dropped.labels("changes").set_function(lambda: relay.changes.dropped)
        dropped.labels("samples").set_function(lambda: relay.samples.dropped)
        dropped.labels("slo-minutes").set_function(lambda: relay.slo_minutes.dropped)
        Gauge(
            "atlhyper_agent_node_samples_received",
            "node samples received from probes",
            registry=self.registry,
        ).set_function(lambda: relay.samples_received)
        self.app = Starlette(
            routes=[
                Route("/healthz", self._wrap("healthz", None, self.healthz)),
                Route("/readyz", self._wrap("readyz", None, self.readyz)),
                Route("/metrics", self._wrap("metrics", None, self.metrics)),
                Route("/v1/snapshot", self._wrap("snapshot", Role.VIEWER, self.snapshot)),
                Route("/v1/stream", self._wrap("stream", Role.VIEWER, self.stream)),
                Route(
                    "/v1/node-samples",
                    self._wrap("node-samples", Role.VIEWER, self.node_samples),
                    methods=["GET"],
                ),
                Route(
                    "/v1/node-samples",
                    self._wrap("push", Role.PROBE, self.push_samples),
                    methods=["POST"],
                ),
                Route(
                    "/v1/slo-minutes",
                    self._wrap("slo-minutes", Role.VIEWER, self.slo_minutes),
                    methods=["GET"],
                ),
                Route(
                    "/v1/commands",
                    self._wrap("command", Role.OPERATOR, self.command),
                    methods=["POST"],
                ),
                Route(
                    "/v1/commands/{key}",
                    self._wrap("command-result", Role.VIEWER, self.command_result),
                    methods=["GET"],
                ),
                Route("/v1/audit", self._wrap("audit", Role.VIEWER, self.audit)),
            ]
        )

    # --- the common path: authenticate, authorise, limit, answer ---------------------------

    def _wrap(
        self,
        route: str,
        role: Role | None,
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                if role is not None:
                    caller = self._authorise(request, role)
                    wait = self._buckets.take(caller.fingerprint)
                    if wait:
                        raise _Refusal(
                            429,
                            "too many requests from this token; slow down",
                            {"Retry-After": str(math.ceil(wait))},
                        )
                response = await handler(request)
            except _Refusal as refusal:
                log.info("%s %s: %d %s", request.method, route, refusal.status, refusal.message)
                response = JSONResponse(
                    {"error": refusal.message}, refusal.status, headers=refusal.headers
                )
            self._requests.labels(route, str(response.status_code)).inc()
            return response

        return endpoint

    def _authorise(self, request: Request, role: Role) -> Caller:
        headers = request.headers
        caller = self.tokens.caller(
            headers.get("authorization"), headers.get(protocol.TOKEN_HEADER)
        )
        if caller is None:
            raise _Refusal(
                401,
                "a valid bearer token is required (Authorization: Bearer <token>)",
                {"WWW-Authenticate": 'Bearer realm="atlhyper-agent"'},
            )
        if not caller.role.allows(role):
            raise _Refusal(403, f"a {caller.role.value} token may not do this")
        return caller

    def _caller(self, request: Request) -> Caller:
        headers = request.headers
        caller = self.tokens.caller(
            headers.get("authorization"), headers.get(protocol.TOKEN_HEADER)
        )
        assert caller is not None  # _wrap authorised it
        return caller

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body:
            raise _Refusal(413, f"the body is larger than {self.limits.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        with trio.move_on_after(self.limits.body_seconds) as deadline:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.limits.max_body:
                    raise _Refusal(413, f"the body is larger than {self.limits.max_body} bytes")
                chunks.append(chunk)
        if deadline.cancelled_caught:
            raise _Refusal(408, f"the body did not arrive within {self.limits.body_seconds:g} s")
        return b"".join(chunks)

    # --- handlers ----------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "serving"})

    async def readyz(self, request: Request) -> Response:
        snapshot = self.relay.handle.health.snapshot
        ready = self.relay.handle.first_sync.is_set()
        body = {"ready": ready, "state": snapshot.state.value, "error": snapshot.last_error}
        return JSONResponse(body, 200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def snapshot(self, request: Request) -> Response:
        body = self.relay.snapshot()
        if "gzip" in request.headers.get("accept-encoding", ""):
            # A 10,000-pod snapshot is megabytes of repetitive JSON: compressed it is a
            # fraction (the API server gzips its large LISTs too). Off the trio thread.
            packed = await trio.to_thread.run_sync(gzip.compress, body, 5)
            return Response(
                packed, media_type="application/json", headers={"Content-Encoding": "gzip"}
            )
        return Response(body, media_type="application/json")

    async def stream(self, request: Request) -> Response:
        cursor = _integer(request, "cursor")
        journal = self.relay.changes
        try:
            journal.check(cursor)
        except CursorUnknown as error:
            raise _Refusal(410, str(error)) from None

        async def lines() -> AsyncIterator[bytes]:
            position = cursor
            self._streams.inc()
            try:
                while True:
                    try:
                        batch = journal.since(position)
                    except CursorUnknown:
                        return  # this hub fell too far behind: it reconnects and relists
                    if batch:
                        yield b"".join(protocol.numbered(seq, line) for seq, line in batch)
                        position = batch[-1][0]
                        continue
                    with trio.move_on_after(protocol.HEARTBEAT):
                        await journal.wait_beyond(position)
                        continue
                    yield protocol.heartbeat_line(position)
            finally:
                self._streams.dec()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def node_samples(self, request: Request) -> Response:
        after, limit = _page(request, self.limits.samples_per_answer)
        return Response(self.relay.samples_after(after, limit), media_type="application/json")

    async def slo_minutes(self, request: Request) -> Response:
        after, limit = _page(request, self.limits.slo_minutes_per_answer)
        return Response(self.relay.slo_minutes_after(after, limit), media_type="application/json")

    async def push_samples(self, request: Request) -> Response:
        body = await self._body(request)
        try:
            # Parsing a large batch is CPU work: off the trio thread, so streams keep flowing.
            batch = await trio.to_thread.run_sync(parse_batch, body)
        except UnsupportedSchemaVersion as error:
            raise _Refusal(422, str(error)) from None
        except BatchTooLarge as error:
            raise _Refusal(413, str(error)) from None
        except BatchError as error:
            raise _Refusal(400, str(error)) from None
        accepted = self.relay.add_batch(batch)
        return JSONResponse({"accepted": accepted})

    async def command(self, request: Request) -> Response:
        if self.operations is None:
            raise _Refusal(403, "this agent is read-only: it runs no commands")
        body = protocol.parse_json_or_none(await self._body(request))
        try:
            command = Command.from_json(body)
        except CommandError as error:
            raise _Refusal(400, str(error)) from None
        hub_user = body.get("actor") if isinstance(body, dict) else None
        caller = self._caller(request)
        actor = f"{hub_user or 'unknown'} (token {caller.fingerprint})"
        outcome = await self.operations.run(self.relay.cluster, command, actor=actor)
        return JSONResponse(outcome.to_json())

    async def command_result(self, request: Request) -> Response:
        key = request.path_params["key"]
        outcome = self.operations.outcome_of(key) if self.operations is not None else None
        if outcome is None:
            raise _Refusal(404, f"no command with key {key!r} is remembered here")
        return JSONResponse(outcome.to_json())

    async def audit(self, request: Request) -> Response:
        after = _integer(request, "after", default=0)
        entries = [
            {"seq": seq, **protocol.audit_document(entry)}
            for seq, entry in self.relay.audit
            if seq > after
        ]
        return JSONResponse({"entries": entries})


def _page(request: Request, per_answer: int) -> tuple[int, int]:
    """``after`` (default 0) and ``limit`` (default ``per_answer``, at most ten times
    that) of a paged read; 400 naming the parameter that is not a whole number."""
    after = _integer(request, "after", default=0)
    limit = min(_integer(request, "limit", default=per_answer), 10 * per_answer)
    return after, max(limit, 1)


def _integer(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise _Refusal(400, f"the query parameter {name!r} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Refusal(400, f"{name}={raw!r} is not a whole number") from None
