"""The store beside a live engine: its writer as a trio task, following a ClusterState."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from headless_agent.detect.anomaly import TransitionType
from headless_agent.state.cluster_state import ClusterState
from headless_agent.store import HistoryStore, SloWindow
from tests.store.conftest import FAST, T0, Clock, transition
from tests.unit import raw_objects as raw


def _namespace(name: str, uid: str) -> dict[str, object]:
    return {"metadata": {"name": name, "uid": uid, "resourceVersion": "1"}, "status": {}}


def _crashing_pod(restarts: int) -> dict[str, object]:
    return raw.pod(
        "checkout-1",
        containers=[raw.container(restarts=restarts, last="OOMKilled", last_finished=T0 - 5)],
    )


async def _until(condition: object, store: HistoryStore) -> None:
    with trio.fail_after(10):
        while True:
            await trio.to_thread.run_sync(store.flush)
            if condition():  # type: ignore[operator]
                return
            await trio.sleep(0.01)


async def test_following_a_cluster_records_its_identity_warnings_and_restarts(
    tmp_path: Path,
) -> None:
    clock = Clock()
    store = HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST, start=False)
    state = ClusterState("prod")
    # What the first LIST brought before the store started following.
    state.apply("Pod", "ADDED", _crashing_pod(restarts=2))
    state.apply("Event", "ADDED", raw.event("ev-1", "BackOff", count=3, last=T0))
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        nursery.start_soon(store.follow, "prod", state)
        await trio.sleep(0.05)
        state.apply("Namespace", "ADDED", _namespace("kube-system", "ks-uid-1"))
        state.apply("Pod", "MODIFIED", _crashing_pod(restarts=3))
        state.apply("Event", "MODIFIED", raw.event("ev-1", "BackOff", count=4, last=T0 + 30))
        state.apply("Event", "ADDED", raw.event("ev-2", "Pulled", last=T0, type="Normal"))

        def done() -> bool:
            restarts = store.pod_restarts("prod", 0, 2e10)
            events = store.search_events("prod")
            return len(restarts) == 2 and bool(events) and events[0].count == 4

        await _until(done, store)
        nursery.cancel_scope.cancel()
    reopened = _reopened(store)
    try:
        (cluster,) = reopened.clusters()
        assert cluster.identity == "uid:ks-uid-1"
        restarts = reopened.pod_restarts("prod", 0, 2e10)
        assert [(r.observation.restart_count, r.increase) for r in restarts] == [(2, 2), (3, 1)]
        assert restarts[0].observation.owner_name == "checkout-7d9f"
        assert restarts[0].observation.last_reason == "OOMKilled"
        assert [(e.name, e.count) for e in reopened.search_events("prod")] == [("ev-1", 4)]
    finally:
        reopened.close()


def _reopened(store: HistoryStore) -> HistoryStore:
    return HistoryStore.open(store.path, options=FAST, start=False)


async def test_cancelling_the_writer_task_keeps_what_was_recorded(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.sqlite3", options=FAST, start=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        # A Hub calls listeners on the trio thread; recording must not block it.
        began = time.monotonic()
        for i in range(200):
            store.record_transition("prod", transition(TransitionType.OPENED, name=f"d{i}"))
            store.record_slo_window("prod", SloWindow("s", T0 + i, 1, 1, 1))
        assert time.monotonic() - began < 0.5
        nursery.cancel_scope.cancel()  # the app closes right away
    reopened = _reopened(store)
    try:
        assert len(reopened.anomaly_timeline("prod", T0, T0 + 1)) == 200
        assert len(reopened.slo_windows("prod", "s", T0, T0 + 300)) == 200
    finally:
        reopened.close()


@pytest.mark.timeout(30)  # without the fix it waits forever; no trio deadline reaches it
async def test_a_hub_cancelled_before_its_history_started_still_ends_and_closes_it(
    tmp_path: Path,
) -> None:
    """A window closed at its very first paint cancels the hub before the history's start
    has returned; the hub must still end (it once waited forever on the shielded history)
    and leave the file closed."""
    from headless_agent.hub import Hub

    store = HistoryStore.open(tmp_path / "h.sqlite3", options=FAST, start=False)
    hub = Hub(history=store)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.cancel_scope.cancel()
            nursery.start_soon(hub.run)
    with pytest.raises(RuntimeError, match="closed"):
        store.record_transition("prod", transition(TransitionType.OPENED))
