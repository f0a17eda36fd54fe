"""The desktop on the real control plane: every context listed, switching connects on
demand, and a pod patched into CrashLoopBackOff turns red and shows as an anomaly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from tests.cluster.engine_helpers import container_status, pod_status
from tests.cluster.kube_objects import deployment, kwok_node, namespace
from tests.gui.conftest import AppFactory
from tests.kubeharness.cluster import KwokCluster

pytestmark = [pytest.mark.gui, pytest.mark.cluster]


def _two_contexts(cluster: KwokCluster, folder: Path) -> Path:
    """The test cluster's kubeconfig with a second context, as people have per namespace."""
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    first = document["contexts"][0]
    second = {"name": "gui-second", "context": {**first["context"], "namespace": "gui"}}
    document["contexts"].append(second)
    path = folder / "two-contexts.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _row_texts(model: object, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]  # type: ignore[attr-defined]


def test_switch_context_and_see_a_crash_loop_turn_red(
    kube_cluster: KwokCluster, running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    kube_cluster.apply(
        namespace("gui"),
        kwok_node("gui-node"),
        deployment("shop", "gui", node="gui-node", replicas=2),
    )
    kubeconfigs = load_kubeconfigs([_two_contexts(kube_cluster, tmp_path)])
    first = kubeconfigs.current_context
    assert first is not None

    def add(hub: Hub) -> None:
        hub.watch_context(KubeTarget(kubeconfigs, first))

    window = running_app(add, kubeconfigs)
    names = [
        window.clusters.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(window.clusters.count())
    ]
    assert names == [first, "gui-second"]
    assert "not connected" in window.clusters.item(1).text()
    assert "namespace: gui" in window.clusters.item(1).toolTip()

    window.clusters.setCurrentRow(1)
    qtbot.waitUntil(lambda: "synced" in window.clusters.item(1).text(), timeout=30000)
    proxy = window.pod_proxy
    proxy.set_namespace("gui")  # as the namespace box does: other tests share the cluster
    window.pod_filter.setText("shop-")
    qtbot.waitUntil(
        lambda: proxy.rowCount() == 2 and set(_row_texts(proxy, 2)) == {"Running"}, timeout=60000
    )

    victim = _row_texts(proxy, 1)[0]
    crashing = pod_status([container_status(waiting="CrashLoopBackOff", restarts=6)], ready=False)
    patch = json.dumps({"status": crashing})
    started = time.monotonic()
    result = kube_cluster.kubectl(
        "patch", "pod", victim, "-n", "gui", "--subresource=status", "--type=merge", "-p", patch
    )
    assert result.returncode == 0, result.stderr
    row = _row_texts(proxy, 1).index(victim)
    qtbot.waitUntil(lambda: proxy.index(row, 2).data() == "CrashLoopBackOff", timeout=2000)
    colour = proxy.index(row, 2).data(Qt.ItemDataRole.ForegroundRole)
    assert colour is not None and colour.red() > 200 and colour.green() < 100, "red status"
    anomalies = window.anomaly_view.model()
    qtbot.waitUntil(
        lambda: any(
            anomalies.index(r, 3).data() == "CrashLoopBackOff"
            and anomalies.index(r, 2).data() == "Deployment gui/shop"
            for r in range(anomalies.rowCount())
        ),
        timeout=2000,
    )
    assert time.monotonic() - started < 2.5, "seen within a second or two"
