"""Helpers for engine tests against the real control plane: a hub, waits, status patches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import trio

from headless_agent.detect.anomaly import Transition
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.health import ConnectionState
from headless_agent.kube.kubeconfig import load_kubeconfigs
from tests.kubeharness.cluster import KwokCluster


class Recorder:
    """Collects a hub's anomaly transitions."""

    def __init__(self) -> None:
        self.transitions: list[tuple[str, Transition]] = []

    def __call__(self, cluster: str, transition: Transition) -> None:
        self.transitions.append((cluster, transition))

    def of(self, reason: str, name: str | None = None) -> list[str]:
        """Transition types for one anomaly reason (and owner/object name)."""
        return [
            t.type.value
            for _, t in self.transitions
            if t.anomaly.key.reason == reason and (name is None or t.anomaly.key.name == name)
        ]


async def wait_for(
    condition: Callable[[], Any], seconds: float = 30.0, what: str = "condition"
) -> Any:
    """Poll until condition() is truthy; fail with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await trio.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def context_name(cluster: KwokCluster) -> str:
    kubeconfigs = load_kubeconfigs([cluster.kubeconfig])
    assert kubeconfigs.current_context, kubeconfigs.problems
    return kubeconfigs.current_context


def watch_cluster(hub: Hub, cluster: KwokCluster, **target_options: Any) -> ClusterHandle:
    kubeconfigs = load_kubeconfigs([cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None
    return hub.watch_context(KubeTarget(kubeconfigs, context, **target_options))


async def start_hub(
    nursery: trio.Nursery, cluster: KwokCluster, **hub_options: Any
) -> tuple[ClusterHandle, Recorder]:
    """A running Hub watching the cluster's current context, with its transitions recorded."""
    hub = Hub(**hub_options)
    recorder = Recorder()
    hub.transition_listeners.append(recorder)
    await nursery.start(hub.run)
    return watch_cluster(hub, cluster), recorder


async def wait_synced(handle: ClusterHandle, seconds: float = 60.0) -> None:
    await wait_for(
        lambda: handle.health.snapshot.state is ConnectionState.SYNCED,
        seconds,
        f"{handle.name} to be synced (now {handle.health.snapshot})",
    )


async def kubectl(cluster: KwokCluster, *args: str, input: str | None = None) -> str:
    result = await trio.to_thread.run_sync(lambda: cluster.kubectl(*args, input=input))
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result.stdout


async def apply(cluster: KwokCluster, *objects: dict[str, Any]) -> None:
    await trio.to_thread.run_sync(lambda: cluster.apply(*objects))


async def patch_status(
    cluster: KwokCluster, kind: str, name: str, namespace: str | None, status: dict[str, Any]
) -> None:
    args = [
        "patch",
        kind,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    ]
    if namespace:
        args += ["-n", namespace]
    await kubectl(cluster, *args)


def container_status(
    name: str = "main",
    *,
    image: str = "nginx:1.27",
    waiting: str | None = None,
    terminated: str | None = None,
    last_terminated: str | None = None,
    restarts: int = 0,
    ready: bool = True,
) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if waiting:
        state: dict[str, Any] = {"waiting": {"reason": waiting, "message": f"{waiting} (test)"}}
    elif terminated:
        state = {
            "terminated": {
                "reason": terminated,
                "exitCode": 137,
                "finishedAt": now,
                "startedAt": now,
            }
        }
    else:
        state = {"running": {"startedAt": now}}
    status: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": ready and not (waiting or terminated),
        "restartCount": restarts,
        "started": not (waiting or terminated),
        "state": state,
    }
    if last_terminated:
        status["lastState"] = {
            "terminated": {
                "reason": last_terminated,
                "exitCode": 137,
                "finishedAt": now,
                "startedAt": now,
            }
        }
    return status


def pod_status(
    containers: list[dict[str, Any]], *, ready: bool, phase: str = "Running"
) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    flag = "True" if ready else "False"
    return {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": flag, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
        ],
        "containerStatuses": containers,
    }
