"""Headless mode killed while it cannot deliver: after a restart, every notification
arrives, and a repeat carries the same id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from headless_agent.store import HistoryStore
from tests.alerts.receivers import HttpReceiver, wait_until
from tests.cluster.engine_helpers import (
    apply,
    container_status,
    kubectl,
    patch_status,
    pod_status,
)
from tests.cluster.kube_objects import bare_pod, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

NS = "alerts-b"
MAIN = "from headless_agent.cli import headless_main; raise SystemExit(headless_main())"


def _headless(
    cluster: KwokCluster, config: Path, history: Path, log: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "ATLHYPER_DB": str(history)}
    return subprocess.Popen(
        [sys.executable, "-c", MAIN, "--alerts", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
    )


async def test_sigkill_while_the_receiver_is_away_loses_nothing(
    kube_cluster: KwokCluster, nursery: trio.Nursery, tmp_path: Path
) -> None:
    receiver = HttpReceiver(status=503)
    await receiver.start(nursery)
    config = tmp_path / "alerts.toml"
    config.write_text(
        f"""[grouping]
group_wait = "1s"
group_interval = "2s"

[[channels]]
name = "hook"
type = "webhook"
url = "{receiver.url}/in"

[[rules]]
channels = ["hook"]
namespaces = ["{NS}"]
"""
    )
    history, log = tmp_path / "history.sqlite3", tmp_path / "headless.log"
    await apply(
        kube_cluster,
        namespace(NS),
        kwok_node("alerts-b-node"),
        *(bare_pod(f"job-{i}", NS, "alerts-b-node") for i in range(3)),
    )
    for i in range(3):
        await wait_until(
            lambda i=i: (
                kube_cluster.get("pod", f"job-{i}", "-n", NS)["status"].get("phase") == "Running"
            ),
            60,
            f"job-{i} running",
        )
    first = _headless(kube_cluster, config, history, log)
    crashing = pod_status(
        [container_status(waiting="CrashLoopBackOff", last_terminated="Error", restarts=5)],
        ready=False,
    )
    for i in range(3):
        await patch_status(kube_cluster, "pod", f"job-{i}", NS, crashing)

    def pending() -> int:
        if not history.exists():
            return 0
        with HistoryStore.open(history, start=False, check="none") as store:
            return len(store.alert_outbox(states=("pending",)))

    # Three pods, three groups (bare pods are their own owners): all in the outbox, none
    # delivered (the receiver answers 503), then the process dies without a word.
    await wait_until(lambda: pending() == 3, 60, "three notifications waiting in the outbox")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert receiver.received == []

    receiver.status = 200
    second = _headless(kube_cluster, config, history, log)
    try:
        await wait_until(
            lambda: len(receiver.received) >= 3, 60, "every notification, after a restart"
        )
        await trio.sleep(3)
        bodies = [json.loads(r.body) for r in receiver.received]
        firing = [b for b in bodies if b["status"] == "firing"]
        names = sorted(a["name"] for b in firing for a in b["alerts"])
        assert names == ["job-0", "job-1", "job-2"]
        # The restarted process may open the same problems again: any repeat keeps its id.
        ids = [b["id"] for b in firing]
        assert len(set(ids)) == 3, ids
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()[-2000:]
        await kubectl(kube_cluster, "delete", "namespace", NS, "--wait=false")
