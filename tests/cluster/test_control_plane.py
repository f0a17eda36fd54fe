"""The test control plane is real: objects go through kube-apiserver, the controller-manager
makes ReplicaSets and pods, the scheduler binds them, and kwok brings them to Running."""

from __future__ import annotations

import time

import psutil
import pytest
import yaml

from tests.cluster.kube_objects import deployment, kwok_node, namespace
from tests.kubeharness.build import KUBERNETES_VERSION
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster


def test_api_server_reports_the_pinned_version(kube_cluster: KwokCluster) -> None:
    version = kube_cluster.kubectl("version", "-o", "json")
    assert f'"gitVersion": "{KUBERNETES_VERSION}"' in version.stdout.split('"serverVersion"')[1]


def test_control_plane_listens_on_loopback_only(kube_cluster: KwokCluster) -> None:
    kubeconfig = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    port = int(server.rsplit(":", 1)[1])
    listeners = [
        c
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]
    assert listeners, f"nothing listens on the API server's port {port}"
    assert {c.laddr.ip for c in listeners} <= {"127.0.0.1"}


def test_deployment_pods_reach_running_on_a_kwok_node(kube_cluster: KwokCluster) -> None:
    kube_cluster.apply(
        namespace("foundation"),
        kwok_node("foundation-node-0"),
        deployment("web", "foundation", node="foundation-node-0", replicas=3),
    )
    deadline = time.monotonic() + 90
    phases: list[str] = []
    while time.monotonic() < deadline:
        pods = kube_cluster.get("pods", "-n", "foundation", "-l", "app=web")["items"]
        phases = [p["status"].get("phase", "") for p in pods]
        if len(pods) == 3 and phases == ["Running"] * 3:
            assert {p["spec"]["nodeName"] for p in pods} == {"foundation-node-0"}
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"pods did not reach Running within 90 s: {phases}")

    node = kube_cluster.get("node", "foundation-node-0")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", "kwok keeps the node Ready with heartbeats"
    deadline = time.monotonic() + 30
    while (
        kube_cluster.get("deployment", "-n", "foundation", "web")["status"].get("readyReplicas")
        != 3
    ):
        assert time.monotonic() < deadline, "the Deployment never reported 3 ready replicas"
        time.sleep(0.5)
