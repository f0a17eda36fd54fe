"""The one command path: every operation, from the desktop, the console, headless mode or
a hub calling an agent, goes through ``Operations.run``.

It checks the command, applies the safety rules (read-only mode; a protected namespace
needs an explicit second confirmation), makes a retried command (same idempotency key)
return the first run's outcome instead of running again, routes the command — straight
to the API server with the context's credentials, or to the cluster's agent — says how
it ended as a catalog message (its English rendering goes to the audit log), and appends
exactly one audit entry per command.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import trio

from headless_agent import i18n
from headless_agent.agent.client import AgentTarget, agent_client
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.api import KubeApi
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.errors import KubeError
from headless_agent.ops.actions import ACTION_FUNCTIONS, DrainBlocked, Progress, Result
from headless_agent.ops.commands import Command, CommandError, Outcome
from headless_agent.store.records import AuditEntry

log = logging.getLogger(__name__)

PROTECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
#: the refusal that a second confirmation lifts
PROTECTED_REFUSAL = "operation.refused.protected"
#: outcomes kept for idempotency (a retry comes within seconds or minutes)
REMEMBERED = 2000
#: how long a command may take before the hub gives up on it (a drain has its own timeout)
COMMAND_TIMEOUT = 300.0

AuditSink = Callable[[AuditEntry], None]


@dataclass
class Safety:
    read_only: bool = False
    protected_namespaces: frozenset[str] = PROTECTED_NAMESPACES


@dataclass
class _Route:
    via: str
    api: KubeApi | None = None
    agent: AgentTarget | None = None
    identity: str = ""


def local_user() -> str:
    """The OS user running this process (who an audit entry names)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"


@dataclass
class Operations:
    hub: Hub
    safety: Safety = field(default_factory=Safety)
    #: where audit entries go (default: the hub's history, if it keeps one)
    audit: AuditSink | None = None
    actor: str = field(default_factory=local_user)
    clock: Callable[[], float] = time.time
    _routes: dict[str, _Route] = field(default_factory=dict)
    _done: OrderedDict[str, Outcome] = field(default_factory=OrderedDict)
    _running: dict[str, trio.Event] = field(default_factory=dict)

    # --- the path ------------------------------------------------------------------------------

    async def run(
        self,
        cluster: str,
        command: Command,
        *,
        actor: str | None = None,
        progress: Progress | None = None,
    ) -> Outcome:
        """Run ``command`` on ``cluster`` once; a repeat of its key returns the same outcome."""
        while command.key in self._running:  # the same command is already under way
            await self._running[command.key].wait()
        if command.key in self._done:
            return self._done[command.key]
        done = self._running[command.key] = trio.Event()
        started = self.clock()
        try:
            outcome, route = await self._attempt(cluster, command, progress or _ignore)
        finally:
            del self._running[command.key]
            done.set()
        outcome = Outcome(
            key=outcome.key,
            ok=outcome.ok,
            message=outcome.message,
            status=outcome.status,
            category=outcome.category,
            data=outcome.data,
            duration=self.clock() - started,
            identity=outcome.identity or route.identity,
            message_id=outcome.message_id,
            params=outcome.params,
        )
        self._remember(outcome)
        self._record(cluster, command, outcome, actor or self.actor, route.via, started)
        return outcome

    async def _attempt(
        self, cluster: str, command: Command, progress: Progress
    ) -> tuple[Outcome, _Route]:
        route = _Route(via="")
        try:
            command.check()
            handle = self.hub.clusters.get(cluster)
            if handle is None:
                return self._refused(
                    command, ("operation.refused.not_watched", {"cluster": cluster})
                ), route
            route = _Route(via=via_of(handle))
            if command.mutating:
                refusal = self.refusal(handle, command)
                if refusal:
                    return self._refused(command, refusal), route
            route = await self._route(handle)
            if route.agent is not None:
                return await self._through_agent(route.agent, command), route
            assert route.api is not None
            result = await _with_timeout(
                ACTION_FUNCTIONS[command.action](route.api, command, progress)
            )
            return Outcome.saying(command.key, True, result.said, data=result.data), route
        except CommandError as error:
            return Outcome.saying(command.key, False, error.said(), "refused", "invalid"), route
        except DrainBlocked as error:
            said = error.said()
            return (
                Outcome.saying(
                    command.key, False, said, "failed", error.category, data=error.report
                ),
                route,
            )
        except KubeError as error:
            return Outcome.saying(command.key, False, error.said(), "failed", error.category), route

    def refusal(self, handle: ClusterHandle, command: Command) -> i18n.Message | None:
        """Why AtlHyper's own rules refuse a change (None: they allow it)."""
        if handle.is_demo:
            return ("operation.refused.demo", {})
        if self.safety.read_only:
            return ("operation.refused.read_only", {})
        protected = command.namespace in self.safety.protected_namespaces or (
            command.kind == "Namespace" and command.name in self.safety.protected_namespaces
        )
        if protected and not command.confirm_protected:
            return (PROTECTED_REFUSAL, {"namespace": command.namespace or command.name})
        return None

    def _refused(self, command: Command, said: i18n.Message) -> Outcome:
        return Outcome.saying(command.key, False, said, "refused", "refused")

    # --- routes ----------------------------------------------------------------------------------

    async def _route(self, handle: ClusterHandle) -> _Route:
        route = self._routes.get(handle.name)
        if route is not None:
            return route
        target = handle.target
        if isinstance(target, AgentTarget):
            route = _Route(via=via_of(handle), agent=target)
        elif isinstance(target, KubeTarget):
            credentials = await trio.to_thread.run_sync(
                lambda: resolve_credentials(
                    target.kubeconfigs, target.context, extra_path=target.extra_path
                )
            )
            api = KubeApi(credentials)
            route = _Route(via=via_of(handle), api=api, identity=await _identity(api))
        else:
            raise CommandError("operation.error.no_commands", cluster=handle.name)
        self._routes[handle.name] = route
        return route

    async def _through_agent(self, target: AgentTarget, command: Command) -> Outcome:
        """The agent runs it with its own command path; a lost answer is asked again with
        the same key, and the agent answers from memory instead of running it twice."""
        body = {**command.to_json(), "actor": self.actor}
        async with await agent_client(target, read_timeout=COMMAND_TIMEOUT) as client:
            for attempt in range(4):
                try:
                    response = await client.post("/v1/commands", json=body)
                except httpx.TransportError as error:
                    if attempt == 3:
                        raise KubeError.saying(
                            "operation.error.agent_silent", detail=str(error)
                        ) from None
                    await trio.sleep(1.0 * (attempt + 1))
                    continue
                if response.status_code != 200:
                    message_id, params = _agent_error(response)
                    if response.status_code in (401, 403):
                        raise CommandError(message_id, **params)
                    raise KubeError.saying(message_id, **params)
                return Outcome.from_json(response.json())
        raise AssertionError("unreachable")  # pragma: no cover

    # --- memory and audit ------------------------------------------------------------------------

    def _remember(self, outcome: Outcome) -> None:
        self._done[outcome.key] = outcome
        while len(self._done) > REMEMBERED:
            self._done.popitem(last=False)

    def outcome_of(self, key: str) -> Outcome | None:
        return self._done.get(key)

    def _record(
        self,
        cluster: str,
        command: Command,
        outcome: Outcome,
        actor: str,
        via: str,
        started: float,
    ) -> None:
        entry = AuditEntry(
            at=started,
            actor=actor,
            action=command.action,
            outcome="succeeded" if outcome.ok else outcome.status,
            cluster=cluster,
            target_kind=command.kind,
            target_namespace=command.namespace,
            target_name=command.name,
            parameters=dict(command.params),
            detail=outcome.message if outcome.ok else "",
            identity=outcome.identity,
            via=via,
            error="" if outcome.ok else outcome.message,
            duration=outcome.duration,
            request_key=command.key,
        )
        sink = self.audit
        if sink is None and self.hub.history is not None:
            sink = self.hub.history.record_audit
        if sink is not None:
            sink(entry)

    async def aclose(self) -> None:
        for route in self._routes.values():
            if route.api is not None:
                await route.api.aclose()
        self._routes.clear()


def via_of(handle: ClusterHandle) -> str:
    target = handle.target
    if isinstance(target, AgentTarget):
        return f"agent {target.url}"
    if isinstance(target, KubeTarget):
        return f"context {target.context}"
    return handle.origin


async def _identity(api: KubeApi) -> str:
    """Who the API server takes us for (a SelfSubjectReview), or '' if it will not say."""
    try:
        review = await api.request_json(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    except KubeError as error:
        log.info("no SelfSubjectReview: %s", error)
        return ""
    user = review.get("status", {}).get("userInfo", {})
    return str(user.get("username", ""))


async def _with_timeout(work: Awaitable[Result]) -> Result:
    try:
        with trio.fail_after(COMMAND_TIMEOUT):
            return await work
    except trio.TooSlowError:
        raise KubeError.saying("operation.error.timeout", seconds=f"{COMMAND_TIMEOUT:g}") from None


def _agent_error(response: httpx.Response) -> tuple[str, dict[str, object]]:
    """The agent's refusal: our sentence, its words (the agent's API speaks English)."""
    try:
        message = response.json().get("error")
    except ValueError:
        message = None
    detail = str(message or response.text[:200])
    return "operation.error.agent_refused", {"detail": detail, "status": response.status_code}


def _ignore(_: i18n.Message) -> None:
    pass
