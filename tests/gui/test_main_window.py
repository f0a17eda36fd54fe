"""The main window over the real engine: the demo fleet, labelled as such, live."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from headless_agent.hub import Hub
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def test_demo_fleet_is_labelled_and_its_incidents_show_up(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=20))
    assert window.banner.isVisible() and "simulated" in window.banner.text()
    assert "demo" in window.windowTitle()
    names = [
        window.clusters.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(window.clusters.count())
    ]
    assert names == ["demo-prod-eu", "demo-staging", "demo-edge-tokyo"]
    assert all("(demo)" in window.clusters.item(i).text() for i in range(window.clusters.count()))

    model = window.anomaly_view.model()
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=10000)
    rows = [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]
    assert any(
        row[3] == "CrashLoopBackOff" and row[2] == "Deployment shop/checkout" for row in rows
    ), rows
    assert window.tabs.tabText(0).startswith("Anomalies (")


def test_pods_table_follows_the_selected_cluster_and_filters(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=20))
    proxy = window.pod_proxy
    qtbot.waitUntil(lambda: proxy.rowCount() > 20, timeout=5000)
    window.pod_filter.setText("checkout")
    qtbot.waitUntil(lambda: 0 < proxy.rowCount() <= 5, timeout=2000)
    assert all("checkout" in proxy.index(r, 1).data() for r in range(proxy.rowCount()))
    # The crash loop of the script turns checkout pods' status red in place.
    qtbot.waitUntil(
        lambda: any(
            proxy.index(r, 2).data() == "CrashLoopBackOff" for r in range(proxy.rowCount())
        ),
        timeout=10000,
    )
    window.pod_filter.clear()
    window.clusters.setCurrentRow(2)
    qtbot.waitUntil(
        lambda: all(
            proxy.index(r, 5).data().startswith("edge-tokyo") for r in range(proxy.rowCount())
        ),
        timeout=3000,
    )


def test_a_cluster_hidden_by_rbac_says_why(running_app: AppFactory, qtbot: QtBot) -> None:
    def add(hub: Hub) -> None:
        handle = hub.watch_demo(speed=1)[0]
        handle.health.hidden("Node", "nodes: hidden — not allowed to list nodes at cluster scope")

    window = running_app(add)
    qtbot.waitUntil(
        lambda: "not allowed to list nodes" in window.cluster_status.text(), timeout=3000
    )
    assert "degraded" in window.clusters.item(0).text()


def test_nodes_and_workloads_views_follow_the_cluster(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    nodes, workloads = window.node_proxy, window.workload_proxy
    qtbot.waitUntil(lambda: nodes.rowCount() == 7, timeout=5000)
    statuses = {nodes.index(r, 0).data(): nodes.index(r, 1).data() for r in range(nodes.rowCount())}
    assert set(statuses.values()) == {"Ready"}
    roles = {nodes.index(r, 2).data() for r in range(nodes.rowCount())}
    assert roles == {"control-plane", "worker"}
    kinds = {workloads.index(r, 2).data() for r in range(workloads.rowCount())}
    assert kinds == {"Deployment", "StatefulSet", "DaemonSet"}
    ready = {
        workloads.index(r, 1).data(): workloads.index(r, 3).data()
        for r in range(workloads.rowCount())
    }
    assert ready["storefront"] == "4/4" and ready["node-exporter"] == "6/6"
    window.workload_filter.setText("postgres")
    qtbot.waitUntil(lambda: workloads.rowCount() == 1, timeout=2000)
    assert workloads.index(0, 1).data() == "ledger"
