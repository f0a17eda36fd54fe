"""Feed one kubeconfig context's cluster into a ClusterState: credentials, then informers.

For each watched kind an informer lists and watches cluster-wide. Where RBAC forbids
that, the kind falls back to the namespaces the user may list — every namespace the
cluster shows when namespaces can be listed, otherwise the context's namespace and any
the user configured — and ``ClusterHealth`` says in words what stays hidden.

Credentials are resolved in a worker thread (exec plugins run there); a context that
cannot be used (missing plugin, broken file) is reported and retried with backoff, so
installing the plugin or fixing the file brings the cluster back without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import trio

from headless_agent import i18n
from headless_agent.kube.api import KubeApi
from headless_agent.kube.connecting import Credentials, resolve_credentials
from headless_agent.kube.errors import Forbidden, KubeError
from headless_agent.kube.health import ClusterHealth
from headless_agent.kube.kubeconfig import KubeconfigSet
from headless_agent.kube.resources import NAMESPACES, WATCHED_KINDS, ResourceKind
from headless_agent.kube.watching import Backoff, WatchOptions, label, run_informer
from headless_agent.state.cluster_state import ClusterState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster to watch and how."""

    kubeconfigs: KubeconfigSet
    context: str
    extra_path: Sequence[str] = ()
    #: namespaces to try when cluster-wide listing is forbidden and namespaces cannot be
    #: listed either (the context's own namespace is always tried)
    fallback_namespaces: Sequence[str] = ()
    kinds: Sequence[ResourceKind] = field(default=WATCHED_KINDS)
    options: WatchOptions = field(default_factory=WatchOptions)


async def connect(target: KubeTarget, health: ClusterHealth) -> KubeApi:
    """Resolve credentials, retrying with backoff while the context cannot be used."""
    backoff = Backoff(1.0, 60.0)
    while True:
        try:
            credentials: Credentials = await trio.to_thread.run_sync(
                lambda: resolve_credentials(
                    target.kubeconfigs, target.context, extra_path=target.extra_path
                )
            )
            return KubeApi(credentials)
        except KubeError as error:
            health.setup_failed(error)
            delay = backoff.next_delay()
            log.warning("%s: %s; trying again in %.0f s", target.context, error, delay)
            await trio.sleep(delay)


async def run_cluster(
    target: KubeTarget,
    state: ClusterState,
    health: ClusterHealth,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Watch every kind of one context until cancelled.

    ``task_status.started()`` fires once credentials are resolved and the informers
    are launched; follow ``health`` to know when the cluster is synced.
    """
    for kind in target.kinds:
        health.expect(kind.kind)
    api = await connect(target, health)
    try:
        async with trio.open_nursery() as nursery:
            namespaces_listable = True
            if NAMESPACES in target.kinds:
                try:
                    await nursery.start(_informer, api, state, NAMESPACES, health, target, None)
                except Forbidden:
                    namespaces_listable = False
                    health.hidden("Namespace", *_forbidden_note(NAMESPACES))
            for kind in target.kinds:
                if kind is not NAMESPACES:
                    nursery.start_soon(
                        _supervise_kind, api, state, kind, health, target, namespaces_listable
                    )
            task_status.started()
    finally:
        with trio.CancelScope(shield=True):
            await api.aclose()


async def _informer(
    api: KubeApi,
    state: ClusterState,
    kind: ResourceKind,
    health: ClusterHealth,
    target: KubeTarget,
    namespace: str | None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await run_informer(
        api,
        state,
        kind,
        health,
        namespace=namespace,
        options=target.options,
        task_status=task_status,
    )


async def _supervise_kind(
    api: KubeApi,
    state: ClusterState,
    kind: ResourceKind,
    health: ClusterHealth,
    target: KubeTarget,
    namespaces_listable: bool,
) -> None:
    try:
        await _informer(api, state, kind, health, target, None)
        return
    except Forbidden:
        pass  # not cluster-wide: per namespace, where allowed
    state.forget(kind.kind)
    if not kind.namespaced:
        health.hidden(kind.kind, *_forbidden_note(kind))
        return
    candidates = _candidate_namespaces(state, target, namespaces_listable)
    health.forget(kind.kind)
    allowed: list[str] = list(candidates)
    denied: list[str] = []

    def note() -> None:
        health.hidden(kind.kind, *_namespace_note(kind, allowed, denied, namespaces_listable))

    async def one_namespace(namespace: str) -> None:
        try:
            await _informer(api, state, kind, health, target, namespace)
        except Forbidden:
            allowed.remove(namespace)
            denied.append(namespace)
            health.forget(label(kind, namespace))
            state.forget(kind.kind, namespace)
            note()

    note()
    async with trio.open_nursery() as nursery:
        for namespace in candidates:
            health.expect(label(kind, namespace))
            nursery.start_soon(one_namespace, namespace)


def _candidate_namespaces(
    state: ClusterState, target: KubeTarget, namespaces_listable: bool
) -> list[str]:
    if namespaces_listable:
        return sorted(record.name for record in state.records("Namespace"))
    context = target.kubeconfigs.contexts.get(target.context)
    names = [context.namespace] if context is not None and context.namespace else ["default"]
    names += [n for n in target.fallback_namespaces if n not in names]
    return names


Note = tuple[str, tuple[i18n.Message, ...]]


def _note(*parts: i18n.Message) -> Note:
    """A health note in English words (logs, the agent's wire) and as catalog messages."""
    english = "; ".join(i18n.render(i18n.DEFAULT_LANGUAGE, part) for part in parts)
    return english, parts


def _forbidden_note(kind: ResourceKind) -> Note:
    """Kubernetes' resource names (``nodes``) stay as they are in every language."""
    return _note(("status.hidden_cluster", {"kinds": kind.plural, "what": kind.verb_target}))


def _namespace_note(
    kind: ResourceKind, allowed: list[str], denied: list[str], namespaces_listable: bool
) -> Note:
    parts: list[i18n.Message] = []
    if allowed:
        parts.append(("status.hidden_showing", {"kinds": kind.plural, "shown": ", ".join(allowed)}))
    else:
        parts.append(("status.hidden_showing_none", {"kinds": kind.plural}))
    if denied:
        parts.append(("status.hidden_denied", {"count": len(denied)}))
    if not namespaces_listable:
        parts.append(("status.hidden_undiscoverable", {}))
    return _note(*parts)
