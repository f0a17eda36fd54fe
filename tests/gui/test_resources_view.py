"""The Resources tab on the real control plane: Jobs, CronJobs, Services, Ingresses and
volume claims appear, change in place, and follow the namespace filter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from tests.cluster.kube_objects import namespace
from tests.gui.conftest import AppFactory
from tests.kubeharness.cluster import KwokCluster

pytestmark = [pytest.mark.gui, pytest.mark.cluster]

NS = "gui-resources"


def _objects() -> list[dict[str, Any]]:
    meta = {"namespace": NS}
    container = {"name": "main", "image": "busybox:1.36"}
    # No node matches: the job's pod stays Pending, so its status is only what we patch
    # (other tests leave kwok nodes behind, which would run it to completion).
    nowhere = {"atlhyper.test/no-such-node": "true"}
    template = {
        "spec": {"restartPolicy": "Never", "containers": [container], "nodeSelector": nowhere}
    }
    return [
        namespace(NS),
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", **meta},
         "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", **meta},
         "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop", **meta},
         "spec": {"selector": {"app": "shop"}, "ports": [{"port": 80}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": "shop", **meta},
         "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [
             {"path": "/cart", "pathType": "Prefix",
              "backend": {"service": {"name": "shop", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", **meta},
         "spec": {"accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "5Gi"}}}},
    ]  # fmt: skip


def _column(model: Any, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_jobs_services_ingresses_and_claims_live_from_the_cluster(
    kube_cluster: KwokCluster, running_app: AppFactory, qtbot: QtBot
) -> None:
    kube_cluster.apply(*_objects())
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None

    def add(hub: Hub) -> None:
        hub.watch_context(KubeTarget(kubeconfigs, context))

    window = running_app(add, kubeconfigs)
    view = window.views["resources"]
    window.tabs.setCurrentWidget(view)
    proxies = view.proxies
    view.filters["jobs"].setText(NS)
    qtbot.waitUntil(
        lambda: sorted(_column(proxies["jobs"], 1)) == ["migrate", "nightly"], timeout=30000
    )
    jobs = dict(zip(_column(proxies["jobs"], 1), _column(proxies["jobs"], 3), strict=True))
    assert jobs["migrate"] == "0/1 succeeded, 0 failed"
    assert jobs["nightly"] == "active: 0"

    window.namespace_box.setCurrentIndex(window.namespace_box.findData(NS))
    qtbot.waitUntil(lambda: _column(proxies["services"], 1) == ["shop"], timeout=10000)
    assert _column(proxies["services"], 4) == ["80/TCP"]
    assert _column(proxies["services"], 5) == ["app=shop"]
    assert _column(proxies["ingresses"], 3) == ["shop.example.com/cart → shop:80"]
    assert _column(proxies["claims"], 1) == ["data"]
    assert _column(proxies["claims"], 5) == ["5 GiB"]

    # A change in the cluster changes the row in place.
    status = {"status": {"succeeded": 1, "conditions": []}}
    result = kube_cluster.kubectl(
        "patch", "job", "migrate", "-n", NS, "--subresource=status", "--type=merge",
        "-p", json.dumps(status),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    qtbot.waitUntil(lambda: "1/1 succeeded, 0 failed" in _column(proxies["jobs"], 3), timeout=10000)
    # Another namespace's filter hides them all.
    window.namespace_box.setCurrentIndex(window.namespace_box.findData("default"))
    assert proxies["services"].rowCount() == 0 or "shop" not in _column(proxies["services"], 1)
    kube_cluster.kubectl("delete", "namespace", NS, "--wait=false")
