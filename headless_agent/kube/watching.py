"""List-then-watch for one kind (optionally in one namespace), forever, into a ClusterState.

Three levels, as kopf arranges them:

1. ``run_informer`` — an endless loop with backoff and jitter around list+watch cycles;
   it reports every phase to ``ClusterHealth`` and lets ``Forbidden`` out to its caller,
   who decides how to fall back.
2. ``list_into`` — a paged LIST (``limit``/``continue``) fed page by page into a
   ``Relist``, so missed changes surface as the right adds, updates and deletes.
3. ``watch_once`` — one WATCH from a resourceVersion with bookmarks on and a randomised
   server timeout; every event (bookmarks too) moves the resourceVersion on; an inactivity
   deadline catches connections that died silently (laptop sleep, VPN change). A 410 —
   as an HTTP status or an ERROR event in the stream — raises ``Gone`` so level 1 lists
   again; after any other failure level 1 resumes watching from the last resourceVersion.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

import trio

from headless_agent.kube.api import KubeApi
from headless_agent.kube.errors import (
    Forbidden,
    Gone,
    KubeError,
    TooManyRequests,
    Unreachable,
    status_error,
)
from headless_agent.kube.health import ClusterHealth
from headless_agent.kube.resources import ResourceKind
from headless_agent.state.cluster_state import ClusterState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchOptions:
    page_size: int = 500
    watch_timeout_min: int = 300  # the server ends each watch after 5-10 minutes
    watch_timeout_max: int = 600
    inactivity_timeout: float = 90.0  # no event, not even a bookmark: the link is dead
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class Backoff:
    """Exponential delays with jitter: 0.5 s, 1 s, 2 s … up to a cap, each scaled by
    a random factor in [0.5, 1) so many informers do not reconnect in lockstep."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum, self.attempt = initial, maximum, 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2**self.attempt)
        self.attempt += 1
        return float(delay * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.attempt = 0


def label(kind: ResourceKind, namespace: str | None) -> str:
    return kind.kind if namespace is None else f"{kind.kind}@{namespace}"


class WatchStalled(Unreachable):
    """No event arrived within the inactivity timeout."""


async def list_into(
    api: KubeApi,
    state: ClusterState,
    kind: ResourceKind,
    namespace: str | None,
    page_size: int,
) -> str:
    """LIST the kind page by page into the state; return the list's resourceVersion."""
    path = kind.path(namespace)
    while True:  # restarts from scratch if a continue token expires mid-way
        relist = state.begin_relist(kind.kind, namespace)
        params: dict[str, str | int | bool] = {"limit": page_size}
        try:
            while True:
                page = await api.get_json(path, params)
                relist.feed(page.get("items") or ())
                metadata = page.get("metadata") or {}
                token = metadata.get("continue")
                if not token:
                    relist.finish()
                    return str(metadata.get("resourceVersion", ""))
                params = {"limit": page_size, "continue": token}
        except Gone:
            if "continue" not in params:
                raise
            log.info("%s: list continue token expired; listing %s again", state.cluster, path)


async def watch_once(
    api: KubeApi,
    state: ClusterState,
    kind: ResourceKind,
    namespace: str | None,
    resource_version: str,
    options: WatchOptions,
) -> str:
    """One WATCH; returns the last resourceVersion seen when the server ends it."""
    params: dict[str, str | int | bool] = {
        "resourceVersion": resource_version,
        "allowWatchBookmarks": True,
        "timeoutSeconds": random.randint(options.watch_timeout_min, options.watch_timeout_max),
    }
    version = resource_version
    with trio.CancelScope(deadline=trio.current_time() + options.inactivity_timeout) as scope:
        async with api.watch(kind.path(namespace), params) as events:
            async for event in events:
                scope.deadline = trio.current_time() + options.inactivity_timeout
                version = _handle_event(state, kind, event, version)
    if scope.cancelled_caught:
        raise WatchStalled(
            f"no watch event for {kind.plural} in {options.inactivity_timeout:.0f} s"
        )
    return version


def _handle_event(state: ClusterState, kind: ResourceKind, event: Any, version: str) -> str:
    if not isinstance(event, dict):
        return version
    event_type, obj = event.get("type"), event.get("object")
    if event_type == "ERROR":
        code = obj.get("code") if isinstance(obj, dict) else None
        raise status_error(code if isinstance(code, int) else 500, obj)
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    new_version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    if event_type in ("ADDED", "MODIFIED", "DELETED"):
        state.apply(kind.kind, event_type, obj)
    return str(new_version) if new_version else version


async def run_informer(
    api: KubeApi,
    state: ClusterState,
    kind: ResourceKind,
    health: ClusterHealth,
    *,
    namespace: str | None = None,
    options: WatchOptions = WatchOptions(),
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep one kind in step with the API server until cancelled.

    ``task_status.started()`` is called after the first successful LIST, so
    ``await nursery.start(run_informer, ...)`` returns once the kind is synced.

    Raises:
        Forbidden: RBAC does not allow list or watch here; the caller falls back.
    """
    name = label(kind, namespace)
    backoff = Backoff(options.backoff_initial, options.backoff_max)
    started = False
    version: str | None = None
    while True:
        try:
            await api.refresh_credentials()
            if version is None:
                health.listing(name)
                version = await list_into(api, state, kind, namespace, options.page_size)
                if not started:
                    task_status.started()
                    started = True
            health.watching(name, state.count(kind.kind))
            backoff.reset()
            while True:
                try:
                    version = await watch_once(api, state, kind, namespace, version, options)
                except WatchStalled:
                    # A quiet kind (the API server sends no bookmarks for some) or a dead
                    # link: a fresh watch from the same version tells which, and only a
                    # failure to open it is reported — a quiet cluster is not degraded.
                    log.debug("%s: %s quiet; watching again", state.cluster, name)
        except Gone:
            log.info("%s: %s resourceVersion expired (410); listing again", state.cluster, name)
            version = None
        except Forbidden:
            raise
        except KubeError as error:
            health.failed(name, error)
            delay = backoff.next_delay()
            if isinstance(error, TooManyRequests) and error.retry_after:
                delay = max(delay, error.retry_after)
            log.info("%s: %s: %s; retrying in %.1f s", state.cluster, name, error, delay)
            await trio.sleep(delay)
