"""Records are compact and tolerant; ClusterState publishes exactly the changes that matter."""

from __future__ import annotations

import copy

import pytest
import trio

from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import MalformedObject, NodeRecord, PodRecord, parse
from tests.unit import raw_objects as raw


def test_pod_record_keeps_what_views_and_rules_need() -> None:
    record = parse(
        "Pod", raw.pod("checkout-1", containers=[raw.container(last="OOMKilled", restarts=3)])
    )
    assert isinstance(record, PodRecord)
    assert (record.namespace, record.name, record.node, record.phase) == (
        "shop",
        "checkout-1",
        "node-1",
        "Running",
    )
    assert record.ready and record.restart_count == 3
    assert (record.owner_kind, record.owner_name) == ("ReplicaSet", "checkout-7d9f")
    assert record.cpu_request_milli == 250 and record.memory_limit_bytes == 256 * 2**20
    assert record.containers[0].last_reason == "OOMKilled"
    assert record.display_status == "Running"


def test_pod_display_status_prefers_the_container_reason() -> None:
    record = parse("Pod", raw.pod("p", containers=[raw.container(waiting="CrashLoopBackOff")]))
    assert isinstance(record, PodRecord) and record.display_status == "CrashLoopBackOff"


def test_node_record() -> None:
    record = parse("Node", raw.node("n1", pressure={"DiskPressure": "True"}))
    assert isinstance(record, NodeRecord)
    assert record.ready_status == "True" and record.roles == ("control-plane",)
    assert record.cpu_allocatable_milli == 7800 and record.memory_capacity_bytes == 32 * 2**30
    assert record.taints[0].effect == "NoSchedule" and record.internal_ip == "192.168.1.10"


@pytest.mark.parametrize("bad", [{}, {"metadata": {}}, {"metadata": {"name": 5}}, []])
def test_malformed_objects_raise_a_clear_error(bad: object) -> None:
    with pytest.raises(MalformedObject):
        parse("Pod", bad)  # type: ignore[arg-type]


def test_odd_fields_read_as_unknown_not_as_a_crash() -> None:
    odd = raw.pod("odd")
    odd["status"]["containerStatuses"] = "not a list"
    odd["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    odd["metadata"]["creationTimestamp"] = "yesterday"
    record = parse("Pod", odd)
    assert isinstance(record, PodRecord)
    assert record.containers == () and record.cpu_request_milli == 0 and record.created is None


async def test_only_real_changes_are_published() -> None:
    state = ClusterState("c")
    subscription = state.subscribe()
    node = raw.node("n1")
    state.apply("Node", "ADDED", node)
    heartbeat = copy.deepcopy(node)
    heartbeat["metadata"]["resourceVersion"] = "99999"
    heartbeat["status"]["conditions"][0]["lastHeartbeatTime"] = raw.iso(1_700_009_999)
    state.apply("Node", "MODIFIED", heartbeat)
    batch = subscription.take()
    assert [c.type for c in batch] == ["added"], "a heartbeat alone is not a change"


async def test_relist_diff_publishes_adds_updates_and_deletes() -> None:
    state = ClusterState("c")
    state.replace("Pod", [raw.pod("a"), raw.pod("b"), raw.pod("c")])
    subscription = state.subscribe()
    updated = raw.pod("b", containers=[raw.container(waiting="CrashLoopBackOff", restarts=2)])
    relist = state.begin_relist("Pod")
    relist.feed([raw.pod("a")])  # page 1
    relist.feed([updated, raw.pod("d")])  # page 2
    relist.finish()
    changes = {c.key[1]: c.type for c in subscription.take()}
    assert changes == {"b": "updated", "c": "deleted", "d": "added"}
    assert sorted(r.name for r in state.records("Pod")) == ["a", "b", "d"]


async def test_namespace_scoped_relist_leaves_other_namespaces_alone() -> None:
    state = ClusterState("c")
    state.replace("Pod", [raw.pod("a", "one"), raw.pod("b", "two")])
    state.replace("Pod", [], namespace="one")
    assert [r.key for r in state.records("Pod")] == [("two", "b")]


async def test_a_slow_subscriber_gets_net_changes_not_a_backlog() -> None:
    state = ClusterState("c")
    slow = state.subscribe()
    for restarts in range(5000):
        state.apply(
            "Pod", "MODIFIED", raw.pod("busy", containers=[raw.container(restarts=restarts)])
        )
    state.apply("Pod", "ADDED", raw.pod("brief"))
    state.apply("Pod", "DELETED", raw.pod("brief"))
    assert slow.pending() == 1
    (change,) = slow.take()
    assert change.type == "added" and isinstance(change.new, PodRecord)
    assert change.new.restart_count == 4999


async def test_subscription_waits_for_changes() -> None:
    state = ClusterState("c")
    subscription = state.subscribe()
    received: list[int] = []

    async def consume() -> None:
        async for batch in subscription:
            received.append(len(batch))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.sleep(0.01)
        state.apply("Pod", "ADDED", raw.pod("a"))
        state.apply("Pod", "ADDED", raw.pod("b"))
        await trio.sleep(0.01)
        subscription.close()
    assert received == [2]


async def test_malformed_object_is_counted_and_skipped() -> None:
    state = ClusterState("c")
    state.replace("Pod", [raw.pod("good"), {"metadata": {}}, "garbage"])
    assert [r.name for r in state.records("Pod")] == ["good"]
    assert state.malformed_objects == 2 and state.last_malformed


async def test_owner_resolves_through_the_replicaset() -> None:
    state = ClusterState("c")
    state.replace("ReplicaSet", [raw.replicaset("checkout-7d9f", "checkout")])
    state.replace("Pod", [raw.pod("checkout-1"), raw.pod("bare", owner=None)])
    pod, bare = (state.get("Pod", "shop", n) for n in ("checkout-1", "bare"))
    assert isinstance(pod, PodRecord) and isinstance(bare, PodRecord)
    assert state.owner_of(pod) == ("Deployment", "checkout")
    assert state.owner_of(bare) == ("", "")
