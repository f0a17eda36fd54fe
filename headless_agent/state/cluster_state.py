"""ClusterState: the latest record of every watched object of one cluster, and what changed.

Sources (informers, an agent stream, the demo) feed it raw objects: ``replace()`` with a
full LIST of a kind (and scope), ``apply()`` with one WATCH event. It keeps one record per
object and publishes a ``Change`` only when a record really changed.

Subscribers read batches of changes. A slow subscriber never stalls a source: its pending
changes are coalesced per object (the first ``old`` and the latest ``new`` are kept), so it
sees each object's net change since it last read, never an unbounded queue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import trio

from headless_agent.state.records import MalformedObject, PodRecord, Record, parse

log = logging.getLogger(__name__)

ObjectKey = tuple[str, str]  # (namespace or '', name)


@dataclass(frozen=True, slots=True)
class Change:
    """One object's change: added (old None), deleted (new None) or updated."""

    kind: str
    key: ObjectKey
    old: Record | None
    new: Record | None

    @property
    def type(self) -> str:
        if self.old is None:
            return "added"
        return "deleted" if self.new is None else "updated"


class Subscription:
    """A subscriber's coalescing inbox. Iterate it to receive lists of changes."""

    def __init__(self, state: ClusterState) -> None:
        self._state = state
        self._pending: dict[tuple[str, ObjectKey], Change] = {}
        self._ready = trio.Event()
        self._closed = False

    def _offer(self, change: Change) -> None:
        slot = (change.kind, change.key)
        earlier = self._pending.get(slot)
        if earlier is not None:
            if earlier.old is None and change.new is None:
                del self._pending[slot]  # added then deleted before anyone looked
                return
            change = Change(change.kind, change.key, earlier.old, change.new)
        self._pending[slot] = change
        self._ready.set()

    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[Change]:
        """Everything pending now, without waiting."""
        batch = list(self._pending.values())
        self._pending.clear()
        self._ready = trio.Event()
        return batch

    async def next_batch(self) -> list[Change]:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            await self._ready.wait()
            if not self._pending and not self._closed:
                self._ready = trio.Event()
        return self.take()

    def __aiter__(self) -> AsyncIterator[list[Change]]:
        return self

    async def __anext__(self) -> list[Change]:
        return await self.next_batch()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._state._subscriptions.discard(self)


class ClusterState:
    """In-memory state of one cluster. All methods run on the trio thread."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._objects: dict[str, dict[ObjectKey, Record]] = {}
        self._versions: dict[str, dict[ObjectKey, str]] = {}
        self._subscriptions: set[Subscription] = set()
        self.malformed_objects = 0
        self.last_malformed: str | None = None
        self.synced_kinds: set[str] = set()

    # --- reading ---------------------------------------------------------------------------

    def records(self, kind: str) -> Iterable[Record]:
        return self._objects.get(kind, {}).values()

    def get(self, kind: str, namespace: str, name: str) -> Record | None:
        return self._objects.get(kind, {}).get((namespace, name))

    def count(self, kind: str) -> int:
        return len(self._objects.get(kind, ()))

    def kinds(self) -> Iterator[str]:
        return iter(self._objects)

    def owner_of(self, pod: PodRecord) -> tuple[str, str]:
        """The workload a pod belongs to, resolved through its ReplicaSet to the Deployment
        (and through a Job to its CronJob); ('', '') for a bare pod."""
        kind, name = pod.owner_kind, pod.owner_name
        if kind in ("ReplicaSet", "Job"):
            parent: Any = self.get(kind, pod.namespace, name)
            if parent is not None and parent.owner_kind in ("Deployment", "CronJob"):
                return parent.owner_kind, parent.owner_name
        return kind, name

    # --- feeding ---------------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscriptions.add(subscription)
        return subscription

    def _publish(self, change: Change) -> None:
        for subscription in self._subscriptions:
            subscription._offer(change)

    def _parse(self, kind: str, raw: Any) -> Record | None:
        try:
            return parse(kind, raw)
        except (MalformedObject, TypeError, ValueError, AttributeError) as error:
            # Bad input from a source is reported and skipped; the cluster's view goes on.
            self.malformed_objects += 1
            self.last_malformed = f"{kind}: {error}"
            log.warning("%s: skipped a malformed %s: %s", self.cluster, kind, error)
            return None

    def apply(self, kind: str, event_type: str, raw: Any) -> None:
        """Apply one WATCH event (ADDED, MODIFIED or DELETED) carrying a raw object."""
        record = self._parse(kind, raw)
        if record is None:
            return
        if event_type == "DELETED":
            self.apply_record(kind, record.key, None)
        else:
            self.apply_record(kind, record.key, record, _resource_version(raw))

    def apply_record(
        self, kind: str, key: ObjectKey, record: Record | None, version: str = ""
    ) -> None:
        """Apply a change that arrives as a record (from an agent); None deletes."""
        objects = self._objects.setdefault(kind, {})
        versions = self._versions.setdefault(kind, {})
        old = objects.get(key)
        if record is None:
            if old is not None:
                del objects[key]
                versions.pop(key, None)
                self._publish(Change(kind, key, old, None))
            return
        versions[key] = version
        if old != record:
            objects[key] = record
            self._publish(Change(kind, key, old, record))

    def begin_relist(self, kind: str, namespace: str | None = None) -> Relist:
        """Start making the kind (in one namespace, or everywhere) equal to a fresh LIST.

        Feed it page by page (a 10,000-pod LIST never sits in memory whole), then
        ``finish()``. After a 410 or a reconnect this is how missed deletions, additions and
        updates reach subscribers: objects gone from the list are deleted, new ones added,
        changed ones updated, and unchanged ones publish nothing.
        """
        return Relist(self, kind, namespace)

    def replace(self, kind: str, raws: Iterable[Any], namespace: str | None = None) -> None:
        """A whole LIST at once (see ``begin_relist``)."""
        relist = self.begin_relist(kind, namespace)
        relist.feed(raws)
        relist.finish()

    def forget(self, kind: str, namespace: str | None = None) -> None:
        """Drop a kind (or one namespace of it), e.g. when RBAC stops allowing it."""
        self.replace(kind, (), namespace)
        if namespace is None:
            self.synced_kinds.discard(kind)

    def memory_estimate(self) -> dict[str, int]:
        """Object counts per kind (for the overview and the benchmarks)."""
        return {kind: len(objects) for kind, objects in self._objects.items()}


class Relist:
    """One LIST being applied to a ClusterState (see ``ClusterState.begin_relist``)."""

    def __init__(self, state: ClusterState, kind: str, namespace: str | None) -> None:
        self._state, self._kind, self._namespace = state, kind, namespace
        self._objects = state._objects.setdefault(kind, {})
        self._versions = state._versions.setdefault(kind, {})
        self._seen: set[ObjectKey] = set()

    def feed(self, raws: Iterable[Any]) -> None:
        objects, versions, state = self._objects, self._versions, self._state
        for raw in raws:
            version = _resource_version(raw)
            record = state._parse(self._kind, raw)
            if record is None:
                continue
            key = record.key
            if version and versions.get(key) == version and key in objects:
                self._seen.add(key)
                continue  # unchanged since we last saw it
            self.feed_record(record, version)

    def feed_record(self, record: Record, version: str = "") -> None:
        """One listed object that arrives as a record (an agent's snapshot)."""
        key = record.key
        self._seen.add(key)
        self._versions[key] = version
        old = self._objects.get(key)
        if old != record:
            self._objects[key] = record
            self._state._publish(Change(self._kind, key, old, record))

    def finish(self) -> None:
        namespace = self._namespace
        gone = [
            key
            for key in self._objects
            if key not in self._seen and (namespace is None or key[0] == namespace)
        ]
        for key in gone:
            old = self._objects.pop(key)
            self._versions.pop(key, None)
            self._state._publish(Change(self._kind, key, old, None))
        self._state.synced_kinds.add(self._kind)


def _resource_version(raw: Any) -> str:
    """The object's resourceVersion, or '' (never equal to anything) when it has none."""
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    return str(version) if version is not None else ""
