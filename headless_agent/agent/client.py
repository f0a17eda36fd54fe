"""The hub's side of an agent: a cluster source next to the kubeconfig informers.

It mirrors the agent's state into a ClusterState (a snapshot, then the stream of changes),
mirrors the agent's anomalies (the agent watched all along, so its detection is the one
that saw what happened while the hub was away), relays the agent's health, and pulls
node samples and the SLO minutes the agent booked from the ingress controllers into the
history (each by its own cursor, so a hub that was away gets what the agent kept). A
broken connection resumes from the last line received; an agent that no longer has those
lines answers 410 and the hub takes a fresh snapshot, which like a relist publishes only
what changed.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import trio

from headless_agent.agent import protocol
from headless_agent.agent.protocol import ProtocolError
from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Transition, TransitionType
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.errors import Forbidden, KubeError, Unauthorized, Unreachable
from headless_agent.kube.health import ClusterHealth, ConnectionState
from headless_agent.kube.watching import Backoff
from headless_agent.state.cluster_state import ClusterState
from headless_agent.store import HistoryStore, SloWindow
from headless_agent.store.samples import NodeSamples

log = logging.getLogger(__name__)

#: how often node samples and SLO minutes are fetched (the probes' default interval)
SAMPLE_INTERVAL = 15.0

_Item = TypeVar("_Item")
#: the agent's paged journals
SAMPLES = "/v1/node-samples"
SLO_MINUTES = "/v1/slo-minutes"


class AgentError(KubeError):
    """The agent answered something the hub cannot use."""

    category = "agent"


@dataclass(frozen=True)
class AgentTarget:
    """An agent to reach: its base URL and a viewer (or operator) token — directly (a
    Service, an Ingress, ``kubectl port-forward``), or ``through`` a kubeconfig context's
    API server, whose service proxy authenticates the user with their own credentials."""

    url: str
    token: str
    ca_file: str | None = None
    verify: bool = True
    #: how often node samples are fetched
    sample_interval: float = SAMPLE_INTERVAL
    through: KubeTarget | None = None

    @classmethod
    def via_api_server(
        cls,
        through: KubeTarget,
        token: str,
        *,
        namespace: str = "atlhyper",
        service: str = "atlhyper-agent",
        port: int = 8443,
        scheme: str = "https",
        sample_interval: float = SAMPLE_INTERVAL,
    ) -> AgentTarget:
        path = f"/api/v1/namespaces/{namespace}/services/{scheme}:{service}:{port}/proxy"
        return cls(path, token, through=through, sample_interval=sample_interval)

    def __repr__(self) -> str:  # the token never goes into logs or tracebacks
        return f"AgentTarget(url={self.url!r})"


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """The options both heads (desktop, headless) take for history and agents."""
    parser.add_argument(
        "--history",
        metavar="FILE",
        help="history file (default: $ATLHYPER_DB, else the platform's data folder)",
    )
    parser.add_argument("--no-history", action="store_true", help="keep no history")
    parser.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="watch a cluster through its agent (repeatable); token from "
        "$ATLHYPER_AGENT_TOKEN or --agent-token-file",
    )
    parser.add_argument("--agent-token-file", metavar="FILE", help="file holding the token")
    parser.add_argument("--agent-ca", metavar="PEM", help="CA of the agents' certificates")


def agents_from_options(args: argparse.Namespace) -> list[tuple[str, AgentTarget]]:
    """The ``--agent`` options as targets; raises ValueError with the reason."""
    token = os.environ.get("ATLHYPER_AGENT_TOKEN") or None
    if args.agent_token_file:
        token = read_token_file(args.agent_token_file)
    return agent_targets(args.agent, token, args.agent_ca)


def agent_targets(
    options: list[str], token: str | None, ca_file: str | None
) -> list[tuple[str, AgentTarget]]:
    """``NAME=URL`` command-line options as targets; raises ValueError with the reason."""
    targets = []
    for option in options:
        name, _, url = option.partition("=")
        if not name or not url.startswith(("https://", "http://")):
            raise ValueError(f"--agent {option!r}: expected NAME=https://HOST:PORT")
        if not token:
            raise ValueError(
                "--agent needs a token: set ATLHYPER_AGENT_TOKEN or --agent-token-file"
            )
        targets.append((name, AgentTarget(url, token, ca_file=ca_file)))
    return targets


def read_token_file(path: str) -> str:
    """The first non-empty line of a token file; raises ValueError naming the file."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"token file {path}: {error}") from None
    for line in lines:
        if line.strip() and not line.startswith("#"):
            return line.strip()
    raise ValueError(f"token file {path} holds no token")


async def agent_client(
    target: AgentTarget, *, read_timeout: float = protocol.HEARTBEAT * 3
) -> httpx.AsyncClient:
    """An HTTP client for one agent: its URL, TLS and token — or, ``through`` an API
    server, the user's credentials there and the token in its own header."""
    verify: ssl.SSLContext | bool = target.verify
    if target.ca_file and target.verify:
        verify = ssl.create_default_context(cafile=target.ca_file)
    base = target.url
    headers = {"Authorization": f"Bearer {target.token}"}
    if target.through is not None:
        # The API server takes the user's credentials and strips them before the
        # agent; the agent's token rides in a header of its own.
        kube = target.through
        credentials = await trio.to_thread.run_sync(
            lambda: resolve_credentials(kube.kubeconfigs, kube.context, extra_path=kube.extra_path)
        )
        base = credentials.server.rstrip("/") + target.url
        verify = credentials.ssl_context
        headers = {protocol.TOKEN_HEADER: target.token}
        if credentials.authorization:
            headers["Authorization"] = credentials.authorization
    return httpx.AsyncClient(
        base_url=base.rstrip("/"),
        headers=headers,
        verify=verify,
        timeout=httpx.Timeout(15.0, read=read_timeout),
        # Node samples are fetched every 15 s: keep that connection (and its TLS) alive.
        limits=httpx.Limits(keepalive_expiry=60.0),
    )


@dataclass(frozen=True)
class AgentCheck:
    """What a connection test found: whether the agent answered and took the token, and
    its cluster's state (``detail``: the agent's or the network's own words)."""

    ok: bool
    state: str = ""
    detail: str = ""


CHECK_TIMEOUT = 10.0


async def check_agent(target: AgentTarget) -> AgentCheck:
    """Reach the agent, ask for its cluster's state, and prove the token with a request
    that needs it (the audit feed past its end: an empty answer)."""
    try:
        with trio.fail_after(CHECK_TIMEOUT):
            async with await agent_client(target, read_timeout=CHECK_TIMEOUT) as client:
                ready = await client.get("/readyz")
                if ready.status_code not in (200, 503):  # 503: up, its cluster not synced yet
                    _check(ready)
                state = ready.json().get("state", "")
                _check(await client.get("/v1/audit", params={"after": 2**62}))
    except trio.TooSlowError:
        return AgentCheck(False, detail=f"no answer within {CHECK_TIMEOUT:.0f} s")
    except (httpx.HTTPError, KubeError, ValueError, OSError) as error:
        return AgentCheck(False, detail=f"{type(error).__name__}: {error}")
    return AgentCheck(True, state=str(state))


class AnomalyMirror:
    """The agent's open anomalies, kept current from its transitions; the same surface as
    a Detector, so the Hub and its consumers cannot tell the two apart."""

    def __init__(self, cluster: str, clock: Callable[[], float] = time.time) -> None:
        self.cluster = cluster
        self.clock = clock
        self.listeners: list[Callable[[Transition], None]] = []
        self._open: dict[AnomalyKey, Anomaly] = {}
        self._current = trio.Event()

    def open_anomalies(self) -> list[Anomaly]:
        return sorted(self._open.values(), key=lambda a: (-a.severity, a.key))

    def tracked_keys(self) -> set[AnomalyKey]:
        return set(self._open)

    async def caught_up(self) -> None:
        await self._current.wait()

    async def run(self) -> None:
        await trio.sleep_forever()

    def apply(self, transition: Transition) -> None:
        key = transition.anomaly.key
        if transition.type is TransitionType.RESOLVED:
            if self._open.pop(key, None) is None:
                return
        else:
            self._open[key] = transition.anomaly
        self._notify(transition)

    def reset(self, anomalies: list[Anomaly]) -> None:
        """The agent's open anomalies after a snapshot: what changed while we were away."""
        now = self.clock()
        fresh = {a.key: a for a in anomalies}
        for key in sorted(set(self._open) - set(fresh)):
            gone = replace(self._open.pop(key), resolved_at=now, last_seen=now)
            self._notify(Transition(TransitionType.RESOLVED, gone, at=now))
        for key, anomaly in sorted(fresh.items()):
            before = self._open.get(key)
            if before != anomaly:
                self._open[key] = anomaly
                kind = TransitionType.OPENED if before is None else TransitionType.UPDATED
                self._notify(Transition(kind, anomaly, at=anomaly.last_seen))
        self._current.set()

    def _notify(self, transition: Transition) -> None:
        for listener in list(self.listeners):
            listener(transition)


class AgentSession:
    """One cluster through one agent, for the life of its task."""

    def __init__(
        self,
        name: str,
        target: AgentTarget,
        state: ClusterState,
        health: ClusterHealth,
        mirror: AnomalyMirror,
        history: HistoryStore | None,
    ) -> None:
        self.name = name
        self.target = target
        self.state = state
        self.health = health
        self.mirror = mirror
        self.history = history
        self.cursor: int | None = None
        self._health: dict[str, Any] | None = None  # as the agent last reported it
        #: per paged journal (``SAMPLES``, ``SLO_MINUTES``): the last number received, and
        #: how often the agent no longer had what followed it (its buffer, or a restart)
        self.cursors = {SAMPLES: 0, SLO_MINUTES: 0}
        self.gaps = {SAMPLES: 0, SLO_MINUTES: 0}
        self.audit_cursor = 0
        self.received_slo_minutes = 0
        self._slo_unsupported = False  # an agent older than /v1/slo-minutes
        #: node samples received, newest last (a short window for views without history)
        self.received_samples = 0

    async def _client(self) -> httpx.AsyncClient:
        return await agent_client(self.target)

    async def run(self) -> None:
        while True:
            try:
                client = await self._client()
            except KubeError as error:  # the context's credentials cannot be resolved
                self.health.setup_failed(error)
                await trio.sleep(30)
                continue
            break
        async with client, trio.open_nursery() as nursery:
            nursery.start_soon(self._follow_samples, client)
            await self._follow_state(client)

    # --- state and anomalies -----------------------------------------------------------------

    async def _follow_state(self, client: httpx.AsyncClient) -> None:
        backoff = Backoff(1.0, 30.0)
        while True:
            try:
                if self.cursor is None:
                    await self._take_snapshot(client)
                await self._stream(client)
                backoff.reset()
                await trio.sleep(0.1)  # the stream ended (410, agent closing): go again
                continue
            except (httpx.TransportError, httpx.StreamError) as error:
                self.health.setup_failed(Unreachable(f"agent {self.target.url}: {error}"))
            except KubeError as error:
                self.health.setup_failed(error)
            except ProtocolError as error:
                # Something this hub cannot read: start over from a snapshot.
                self.cursor = None
                self.health.setup_failed(AgentError(f"unreadable answer from the agent: {error}"))
            await trio.sleep(backoff.next_delay())

    async def _take_snapshot(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/snapshot")
        _check(response)
        document = protocol.parse_json(response.content)
        cursor = document.get("cursor") if isinstance(document, dict) else None
        objects = document.get("objects") if isinstance(document, dict) else None
        if not isinstance(cursor, int) or not isinstance(objects, dict):
            raise ProtocolError("the snapshot lacks its cursor or objects")
        if document.get("protocol") != protocol.PROTOCOL:
            raise ProtocolError(f"protocol {document.get('protocol')!r} is not {protocol.PROTOCOL}")
        listed = set()
        for kind, entries in objects.items():
            if not isinstance(entries, list):
                raise ProtocolError(f"objects of {kind!r} are not a list")
            relist = self.state.begin_relist(kind)
            for entry in entries:
                if not isinstance(entry, list) or len(entry) != 3:
                    raise ProtocolError(f"an object of {kind!r} is not [namespace, name, record]")
                relist.feed_record(protocol.read_record(kind, entry[2]))
            relist.finish()
            listed.add(kind)
        for kind in set(self.state.kinds()) - listed:
            self.state.forget(kind)
        anomalies = document.get("anomalies", [])
        if not isinstance(anomalies, list):
            raise ProtocolError("anomalies are not a list")
        opened = [protocol.read_anomaly(a, self.name) for a in anomalies]
        # The cluster's state first, then what is wrong in it (listeners see them so).
        self._relay_health(document.get("health"))
        self.mirror.reset(opened)
        self.cursor = cursor

    async def _stream(self, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/v1/stream", params={"cursor": self.cursor}) as response:
            if response.status_code == 410:
                await response.aread()
                log.info("%s: %s", self.name, _message(response))
                self.cursor = None  # the agent lost the lines we need: snapshot again
                return
            if response.status_code != 200:
                await response.aread()
                _check(response)
            if self._health is not None:  # connected again: the agent's word counts again
                self._relay_health(self._health)
            async for line in response.aiter_lines():
                if line:
                    self._apply(protocol.parse_json(line.encode()))

    def _apply(self, line: Any) -> None:
        if not isinstance(line, dict):
            raise ProtocolError("a stream line is not an object")
        kind = line.get("t")
        if kind == "heartbeat":
            return
        seq = line.get("seq")
        if not isinstance(seq, int):
            raise ProtocolError("a stream line has no sequence number")
        if kind == "change":
            object_kind = line.get("kind")
            namespace, name = line.get("ns"), line.get("name")
            if not all(isinstance(v, str) for v in (object_kind, namespace, name)):
                raise ProtocolError("a change line lacks kind, ns or name")
            assert isinstance(object_kind, str) and isinstance(namespace, str)
            assert isinstance(name, str)
            data = line.get("record")
            record = None if data is None else protocol.read_record(object_kind, data)
            self.state.apply_record(object_kind, (namespace, name), record)
        elif kind == "anomaly":
            self.mirror.apply(protocol.read_transition(line, self.name))
        elif kind == "health":
            self._relay_health(line.get("health"))
        # Unknown line types are skipped: a newer agent may say more than this hub knows.
        self.cursor = seq

    def _relay_health(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise ProtocolError("health is not an object")
        try:
            state = ConnectionState(document.get("state"))
        except ValueError:
            raise ProtocolError(f"unknown state {document.get('state')!r}") from None
        self._health = document
        hidden = document.get("hidden") or []
        error, category = document.get("error"), document.get("category")
        self.health.relayed(
            state,
            error if isinstance(error, str) else None,
            category if isinstance(category, str) else None,
            tuple(str(h) for h in hidden) if isinstance(hidden, list) else (),
        )

    # --- node samples ----------------------------------------------------------------------

    async def _follow_samples(self, client: httpx.AsyncClient) -> None:
        fetches = (
            ("node samples", self._fetch_samples),
            ("SLO minutes", self._fetch_slo_minutes),
            ("audit", self._fetch_audit),
        )
        while True:
            for what, fetch in fetches:  # one failing does not hold up the others
                try:
                    await fetch(client)
                except (httpx.HTTPError, ProtocolError, KubeError) as error:
                    log.info("%s: %s not fetched: %s", self.name, what, error)
            await trio.sleep(self.target.sample_interval)

    async def _fetch_audit(self, client: httpx.AsyncClient) -> None:
        """Commands the agent ran — for this hub or any other — into this hub's audit log
        (the store keeps one entry per command key, so this hub's own are not doubled)."""
        if self.history is None:
            return
        response = await client.get("/v1/audit", params={"after": self.audit_cursor})
        _check(response)
        document = protocol.parse_json(response.content)
        entries = document.get("entries") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ProtocolError("the audit answer lacks its entries")
        for item in entries:
            entry = protocol.read_audit(item, self.name, f"agent {self.target.url}")
            self.history.record_audit(entry, once_per_key=True)
            if isinstance(item, dict) and isinstance(item.get("seq"), int):
                self.audit_cursor = max(self.audit_cursor, item["seq"])

    async def _fetch_samples(self, client: httpx.AsyncClient) -> None:
        def take(samples: list[NodeSamples]) -> None:
            if samples and self.history is not None:
                self.history.record_node_samples(self.name, samples)
            self.received_samples += len(samples)

        await self._pages(client, SAMPLES, "samples", protocol.read_samples, take)

    async def _fetch_slo_minutes(self, client: httpx.AsyncClient) -> None:
        """The minutes the agent's SLO collector booked, into the history as if this hub
        had scraped the controllers itself (a minute stored twice is stored once)."""
        if self._slo_unsupported:
            return

        def take(minutes: list[SloWindow]) -> None:
            if minutes and self.history is not None:
                self.history.record_slo_minutes(self.name, minutes)
            self.received_slo_minutes += len(minutes)

        try:
            await self._pages(client, SLO_MINUTES, "minutes", protocol.read_slo_minute, take)
        except _NotServed:
            self._slo_unsupported = True
            log.info("%s: the agent serves no SLO minutes (an older version)", self.name)

    async def _pages(
        self,
        client: httpx.AsyncClient,
        path: str,
        field: str,
        read: Callable[[Any], _Item],
        take: Callable[[list[_Item]], None],
    ) -> None:
        """Every page of a journal the agent serves after this session's cursor for it,
        until caught up: each page to ``take``, then the cursor moves past it."""
        while True:  # until caught up: one answer holds at most the agent's page size
            cursor = self.cursors[path]
            response = await client.get(path, params={"after": cursor})
            if response.status_code == 404:
                raise _NotServed(path)
            _check(response)
            document = protocol.parse_json(response.content)
            if not isinstance(document, dict) or not isinstance(document.get(field), list):
                raise ProtocolError(f"the answer of {path} lacks its {field}")
            last, oldest = document.get("last"), document.get("oldest")
            if not isinstance(last, int):
                raise ProtocolError(f"the answer of {path} lacks its last number")
            if last < cursor:
                # The agent restarted and numbers from 1 again: read all it has.
                log.info("%s: the agent restarted; %s from its first", self.name, field)
                self.cursors[path] = 0
                self.gaps[path] += 1
                continue
            if isinstance(oldest, int) and cursor and oldest > cursor + 1:
                self.gaps[path] += 1  # the agent's buffer did not reach back far enough
            entries = document[field]
            items = []
            for entry in entries:
                if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], int):
                    raise ProtocolError(f"an entry of {field} is not [number, value]")
                items.append(read(entry[1]))
                cursor = entry[0]
            take(items)
            self.cursors[path] = cursor
            if not entries or cursor >= last:
                return


class _NotServed(Exception):
    """The agent does not know this path (404: a version before it)."""


def _message(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])
    return response.text[:200]


def _check(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    message = f"agent: {_message(response)} (HTTP {response.status_code})"
    if response.status_code == 401:
        raise Unauthorized(401, "Unauthorized", message)
    if response.status_code == 403:
        raise Forbidden(403, "Forbidden", message)
    raise AgentError(message)
