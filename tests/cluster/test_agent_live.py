"""End to end on the real control plane: the agent process (service-account token, TLS),
three nodeprobe processes pushing to it, and a hub reaching the cluster only through the
agent — compared with a hub watching the cluster directly, and cut off for 60 s."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import yaml

from headless_agent.agent.client import AgentTarget
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.store import HistoryStore, SeriesSelector
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    patch_status,
    pod_status,
    wait_for,
    wait_synced,
    watch_cluster,
)
from tests.cluster.kube_objects import bare_pod, kwok_node, namespace
from tests.cluster.test_agent_manifests import _apply_rbac, _kubectl
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

NS = "agent-e2e"
VIEWER = "e2e-viewer-token-0123456789"
PROBE = "e2e-probe-token-0123456789"
NODES = ("probe-node-1", "probe-node-2", "probe-node-3")
CUT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=atlhyper-agent", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _service_account_kubeconfig(cluster: KwokCluster, folder: Path) -> Path:
    """A kubeconfig with the agent's service-account token, as a pod would have it."""
    _apply_rbac(cluster, "base")
    token = _kubectl(cluster, "create", "token", "atlhyper-agent", "-n", "atlhyper").strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kwok", "cluster": server}],
        "users": [{"name": "agent", "user": {"token": token}}],
        "contexts": [{"name": "agent", "context": {"cluster": "kwok", "user": "agent"}}],
        "current-context": "agent",
    }
    path = folder / "agent.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


class CuttableProxy:
    """A TCP relay between the hub and the agent that can be cut, like a network."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cut = False
        self._connections: set[trio.CancelScope] = set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, client: trio.SocketStream) -> None:
        if self.cut:
            await client.aclose()
            return
        with trio.CancelScope() as scope:
            self._connections.add(scope)
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
                async with client, upstream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, client, upstream, nursery.cancel_scope)
                    nursery.start_soon(self._pump, upstream, client, nursery.cancel_scope)
            except (trio.BrokenResourceError, OSError):
                pass
            finally:
                self._connections.discard(scope)

    @staticmethod
    async def _pump(
        source: trio.SocketStream, sink: trio.SocketStream, done: trio.CancelScope
    ) -> None:
        try:
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        done.cancel()

    def sever(self) -> None:
        self.cut = True
        for scope in list(self._connections):
            scope.cancel()

    def restore(self) -> None:
        self.cut = False


@pytest.fixture
def agent_process(kube_cluster: KwokCluster, tmp_path: Path) -> Iterator[dict[str, Any]]:
    cert, key = _certificate(tmp_path)
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    (tokens / "viewer").write_text(f"# hubs\n{VIEWER}\n")
    (tokens / "probe").write_text(f"{PROBE}\n")
    port = _free_port()
    kubeconfig = _service_account_kubeconfig(kube_cluster, tmp_path)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    log = (tmp_path / "agent.log").open("w")
    agent = subprocess.Popen(
        [
            sys.executable, "-c",
            "from headless_agent.agent.server import agent_main; raise SystemExit(agent_main())",
            "--listen", f"127.0.0.1:{port}", "--tokens", str(tokens),
            "--tls-cert", str(cert), "--tls-key", str(key), "--cluster-name", "kwok",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    probes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nodeprobe",
                "--node-name",
                node,
                "--agent-url",
                f"https://127.0.0.1:{port}/v1/node-samples",
                "--ca-file",
                str(cert),
                "--interval",
                "1s",
                "--listen",
                "off",
                "--collectors",
                "cpu,memory,system",
            ],
            env={**os.environ, "NODEPROBE_TOKEN": PROBE},
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{node}.log").open("w"),
        )
        for node in NODES
    ]
    try:
        yield {"port": port, "cert": cert, "log": tmp_path / "agent.log", "process": agent}
    finally:
        for process in [*probes, agent]:
            process.terminate()
        for process in [*probes, agent]:
            process.wait(timeout=20)
        assert agent.returncode == 0, (tmp_path / "agent.log").read_text()[-3000:]
        secrets = (tmp_path / "agent.log").read_text()
        assert VIEWER not in secrets and PROBE not in secrets


def _view(handle: ClusterHandle) -> dict[str, Any]:
    state = handle.state
    return {
        "pods": sorted((p.namespace, p.name, p.phase) for p in state.records("Pod")),
        "nodes": sorted(n.name for n in state.records("Node")),
        "anomalies": sorted(
            (a.key.kind, a.key.namespace, a.key.name, a.key.reason)
            for a in handle.detector.open_anomalies()
        ),
    }


async def test_a_hub_through_the_agent_sees_everything_even_after_a_cut(
    kube_cluster: KwokCluster, agent_process: dict[str, Any], tmp_path: Path
) -> None:
    crashing = pod_status(
        [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=5)],
        ready=False,
    )
    healthy = pod_status([container_status(restarts=5)], ready=True)
    async with trio.open_nursery() as nursery:
        proxy = CuttableProxy(agent_process["port"])
        await nursery.start(proxy.run)
        direct_hub = Hub()
        await nursery.start(direct_hub.run)
        direct = watch_cluster(direct_hub, kube_cluster)
        store = HistoryStore.open(tmp_path / "hub.sqlite3", start=False)
        hub = Hub(history=store)
        await nursery.start(hub.run)
        target = AgentTarget(
            f"https://127.0.0.1:{proxy.port}",
            VIEWER,
            ca_file=str(agent_process["cert"]),
            sample_interval=2.0,
        )
        relayed = hub.watch_agent("kwok-via-agent", target)

        await apply(
            kube_cluster,
            namespace(NS),
            kwok_node("agent-node-a"),
            *(bare_pod(name, NS, "agent-node-a") for name in ("web", "api", "cron")),
        )
        await wait_synced(direct)
        await wait_for(
            lambda: relayed.health.snapshot.state.value == "synced",
            60,
            f"the agent-reached cluster synced ({relayed.health.snapshot})",
        )

        def running(name: str) -> bool:
            return (
                any(p == (NS, name, "Running") for p in _view(direct)["pods"])
                and direct.state.get("Pod", NS, name).ready
            )  # type: ignore[union-attr]

        for name in ("web", "api", "cron"):
            await wait_for(lambda name=name: running(name), 90, f"{name} running")
        await patch_status(kube_cluster, "pod", "web", NS, crashing)
        await wait_for(lambda: _view(direct)["anomalies"], 20, "the crash loop, directly")
        await wait_for(lambda: _view(relayed) == _view(direct), 20, "the same view via the agent")
        assert any(n.startswith("agent-node-a") for n in _view(relayed)["nodes"])

        # Cut the hub off; meanwhile one problem comes and goes, another starts.
        cut_at = time.time()
        proxy.sever()
        await patch_status(kube_cluster, "pod", "api", NS, crashing)
        await wait_for(
            lambda: ("Pod", NS, "api", "CrashLoopBackOff") in _view(direct)["anomalies"], 20, "api"
        )
        await trio.sleep(3)
        await patch_status(kube_cluster, "pod", "api", NS, healthy)
        await patch_status(kube_cluster, "pod", "cron", NS, crashing)
        await wait_for(
            lambda: ("Pod", NS, "api", "CrashLoopBackOff") not in _view(direct)["anomalies"],
            20,
            "api healed",
        )
        assert relayed.health.snapshot.state.value == "offline"
        assert "agent" in (relayed.health.snapshot.last_error or "")
        await trio.sleep_until(trio.current_time() + max(0.0, CUT_SECONDS - (time.time() - cut_at)))
        proxy.restore()
        restored_at = time.time()

        await wait_for(lambda: _view(relayed) == _view(direct), 60, "caught up after the cut")
        assert relayed.health.snapshot.state.value == "synced"

        def episodes(name: str) -> list[tuple[str, ...]]:
            store.flush()
            return [
                tuple(t.type for t in e.transitions)
                for e in store.anomaly_timeline("kwok-via-agent", cut_at - 600, time.time() + 60)
                if e.name == name and e.reason == "CrashLoopBackOff"
            ]

        # What happened during the cut is in the history, with the agent's timing.
        await wait_for(lambda: episodes("api") == [("opened", "resolved")], 30, "api's episode")
        assert episodes("cron") == [("opened",)]
        [api] = [
            e
            for e in store.anomaly_timeline("kwok-via-agent", cut_at - 600, time.time())
            if e.name == "api" and e.reason == "CrashLoopBackOff"
        ]
        assert cut_at < api.first_seen < api.resolved_at < restored_at  # type: ignore[operator]

        # Node metrics from all three probes, with no gap across the cut.
        def gaps() -> dict[str, float]:
            store.flush()
            worst = {}
            for node in NODES:
                points = store.query_series(
                    SeriesSelector("kwok-via-agent", (node,), ("load1",)),
                    cut_at - 10,
                    restored_at + 5,
                    max_points=100_000,
                )
                times = np.concatenate([p.times for p in points]) if points else np.array([])
                if len(times) < 10:
                    worst[node] = float("inf")
                    continue
                worst[node] = float(np.max(np.diff(np.sort(times))))
            return worst

        await wait_for(lambda: all(g < 5 for g in gaps().values()), 60, f"no gaps ({gaps()})")
        nursery.cancel_scope.cancel()
    # Leave no crash loops behind for the tests that share this cluster.
    _kubectl(kube_cluster, "delete", "namespace", NS, "--wait=false")
