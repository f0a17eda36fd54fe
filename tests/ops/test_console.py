"""The kubectl-style console: what it reads, what it refuses, what it answers from state."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from headless_agent import i18n
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.ops.commands import Command
from headless_agent.ops.console import ConsoleError, parse, run_line
from headless_agent.ops.runner import Operations
from headless_agent.store import HistoryStore, NodeSamples

CLUSTER = "demo-prod-eu"


@pytest.fixture
async def demo(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[tuple[Hub, ClusterHandle]]:
    hub = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
    await nursery.start(hub.run)
    handle = next(h for h in hub.watch_demo() if h.name == CLUSTER)
    with trio.fail_after(10):
        await handle.first_sync.wait()
    yield hub, handle


async def test_lines_become_commands(demo: tuple[Hub, ClusterHandle]) -> None:
    _, handle = demo

    def command(line: str) -> Command:
        parsed = parse(line, handle, "shop")
        assert parsed.command is not None
        return parsed.command

    scale = command("kubectl scale deployment/checkout --replicas=5")
    assert (scale.action, scale.kind, scale.namespace, scale.name, dict(scale.params)) == (
        "scale", "Deployment", "shop", "checkout", {"replicas": 5},
    )  # fmt: skip
    assert command("scale deploy checkout --replicas 2 -n web").namespace == "web"
    logs = command("logs checkout-1 -c main --tail 50 --since 5m -p")
    assert dict(logs.params) == {
        "container": "main", "tail": 50, "since_seconds": 300, "previous": True,
    }  # fmt: skip
    assert command("rollout undo deployment/checkout").action == "rollback"
    assert command("rollout restart sts/db").kind == "StatefulSet"
    drain = command("drain worker-3 --timeout=2m --grace-period 30")
    assert (drain.kind, drain.namespace, dict(drain.params)) == (
        "Node", "", {"timeout": 120, "grace_seconds": 30},
    )  # fmt: skip
    assert dict(command("delete pod checkout-1 --force").params) == {"force": True}
    assert command("describe node worker-1").namespace == ""


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("apply -f app.yaml", "'apply' is not run here; the console takes: get, describe"),
        ("delete deployment checkout", "deletes pods only"),
        ("scale deployment/checkout", "--replicas=N is required"),
        ("scale deployment/checkout --replicas=many", "expected a whole number"),
        ("logs", "which pod?"),
        ("get widgets", "unknown kind 'widgets'"),
        ("rollout status deployment/x", "restart or undo"),
        ("logs p --since=soon", "expected a duration"),
        ("get pods 'unclosed", "cannot read the line"),
        ("", "type a command"),
    ],
)
async def test_what_it_does_not_run_is_refused_with_what_it_takes(
    demo: tuple[Hub, ClusterHandle], line: str, words: str
) -> None:
    _, handle = demo
    with pytest.raises(ConsoleError, match=None) as caught:
        parse(line, handle)
    assert words in str(caught.value)


async def test_get_answers_from_the_state_like_kubectl(demo: tuple[Hub, ClusterHandle]) -> None:
    hub, handle = demo
    ops = Operations(hub)
    ok, text = await run_line(ops, CLUSTER, "get pods -n shop")
    lines = text.splitlines()
    assert ok and lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    shop_pods = sorted(p.name for p in handle.state.records("Pod") if p.namespace == "shop")
    assert [line.split()[0] for line in lines[1:]] == shop_pods
    ok, text = await run_line(ops, CLUSTER, "get nodes")
    assert ok and text.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    ok, text = await run_line(ops, CLUSTER, "get deploy -A")
    assert ok and text.splitlines()[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    ok, text = await run_line(ops, CLUSTER, "get pod nope -n shop")
    assert not ok and 'Pod "nope" not found in shop' in text
    # Changes are refused on the demo fleet, in words, like everywhere else.
    ok, text = await run_line(ops, CLUSTER, "scale deployment/checkout --replicas=5 -n shop")
    assert not ok and "demo fleet is simulated" in text


async def test_top_nodes_reads_the_newest_node_metrics(demo: tuple[Hub, ClusterHandle]) -> None:
    hub, handle = demo
    ops = Operations(hub)
    bare = hub.add_cluster("bare", "test", _never)  # no node metrics for this one
    ok, text = await run_line(ops, bare.name, "top nodes")
    assert not ok and "no node metrics for this cluster" in text
    store = hub.history
    assert store is not None
    now = time.time()
    store.record_node_samples(
        CLUSTER,
        [
            NodeSamples(
                "worker-x",
                now - 10,
                {
                    'cpu_usage_percent{mode="idle"}': 63.0,
                    "memory_used_bytes": 3 * 2**30,
                    "memory_used_percent": 40.0,
                },
            )
        ],
    )
    await trio.to_thread.run_sync(store.flush)
    ok, text = await run_line(ops, CLUSTER, "top nodes")
    assert ok, text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:]}
    assert rows["worker-x"] == ["37%", "3072Mi", "40%"]
    # The demo's own nodes (simulated nodeprobe series) are there too.
    demo_nodes = {n.name for n in handle.state.records("Node")}
    assert demo_nodes <= set(rows)


async def _never(state: object, health: object) -> None:
    await trio.sleep_forever()


async def test_the_console_speaks_the_ui_language(demo: tuple[Hub, ClusterHandle]) -> None:
    hub, _ = demo
    ops = Operations(hub)
    ok, text = await run_line(ops, CLUSTER, "apply -f app.yaml", language="ja")
    assert not ok and text.startswith("エラー：") and "'apply'" in text
    ok, text = await run_line(
        ops, CLUSTER, "scale deployment/checkout --replicas=5 -n shop", language="zh"
    )
    assert not ok and text == "错误：" + i18n.message("zh", "operation.refused.demo")
    ok, text = await run_line(ops, CLUSTER, "get pods -n no-such-namespace", language="ja")
    assert ok and text == i18n.message("ja", "console.no_resources")
    # kubectl's table headings stay as kubectl prints them, in every language.
    ok, text = await run_line(ops, CLUSTER, "get nodes", language="zh")
    assert ok and text.splitlines()[0].split()[0] == "NAME"
