"""A node's page: what it is, its pods live from the state, and its charts from the
history — on the demo fleet (whose simulated metrics land in the throwaway history) and
on the real control plane with samples recorded through the store's API."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

import desktop.charts
from desktop.main_window import MainWindow
from desktop.node_detail import NodeDetailDialog
from headless_agent import i18n
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.state.records import NodeRecord, PodRecord
from headless_agent.store import NodeSampleBlock
from tests.cluster.kube_objects import deployment, kwok_node, namespace
from tests.gui.conftest import AppFactory
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.gui


def open_node_page(window: MainWindow, qtbot: QtBot, name: str | None = None) -> NodeDetailDialog:
    """Through the Nodes table's context menu, as a user does."""
    qtbot.waitUntil(lambda: window.node_model.rowCount() > 0, timeout=30_000)
    rows = range(window.node_model.rowCount())
    row = next(r for r in rows if name is None or window.node_model.record(r).name == name)
    record = window.node_model.record(row)
    menu = window.context_menu(window.node_view, "Node", record)
    entries = [a for a in menu.actions() if a.data() == "details"]
    assert [a.text() for a in entries] == ["Details"]
    assert menu.actions()[0] is entries[0], "reading comes first"
    entries[0].trigger()
    dialog = window.findChild(NodeDetailDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)
    return dialog


def _demo(running_app: AppFactory, tmp_path: Path, speed: float = 30) -> MainWindow:
    window = running_app(lambda hub: hub.watch_demo(speed=speed), history=tmp_path / "h.sqlite3")
    window.clusters.setCurrentRow(0)
    return window


def busiest_node(window: MainWindow, qtbot: QtBot) -> str:
    """The node running the most pods of the selected cluster."""
    qtbot.waitUntil(lambda: window.pod_model.rowCount() > 0, timeout=30_000)
    pods = [window.pod_model.record(r) for r in range(window.pod_model.rowCount())]
    nodes = [p.node for p in pods if isinstance(p, PodRecord) and p.node]
    return max(set(nodes), key=nodes.count)


def test_the_node_page_shows_the_node_its_pods_and_the_charts_it_has(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _demo(running_app, tmp_path)
    dialog = open_node_page(window, qtbot, busiest_node(window, qtbot))
    node = dialog.record()
    assert isinstance(node, NodeRecord)
    assert dialog.windowTitle() == f"Node {node.name}"
    assert dialog.facts.text("detail.status") == "Ready"
    assert dialog.facts.text("detail.version") == node.kubelet_version
    assert "allocatable" in dialog.facts.text("detail.cpu")
    assert "Ready" in dialog.conditions.texts(0)
    # Its pods, and only its pods, from the cluster's state.
    state = dialog.handle.state
    expected = {p.name for p in state.records("Pod") if isinstance(p, PodRecord)}
    expected = {
        p.name for p in state.records("Pod") if isinstance(p, PodRecord) and p.node == node.name
    }
    assert expected
    shown = {dialog.pod_model.record(r).name for r in range(dialog.pod_model.rowCount())}
    assert shown == expected
    assert dialog.tabs.tabText(2) == f"Pods ({len(expected)})"
    # The demo simulates CPU, memory, load and network: those charts, with points; the
    # series it lacks (per core, swap, disks, temperatures) leave no empty charts.
    charts = dialog.charts
    qtbot.waitUntil(lambda: charts["cpu"].point_count() > 0, timeout=15_000)
    for key in ("cpu", "memory", "load", "network"):
        assert charts[key].point_count() > 100, key
        assert not charts[key].isHidden(), key
    for key in ("cores", "swap", "disk_space", "disk_io", "temperature"):
        assert charts[key].isHidden(), key
    # Six hours of 15-second samples at the store's chosen resolution, within the budget.
    assert dialog.board.range_box.currentText() == "Last 6 hours"
    assert all(len(d.times) <= 1500 for c in charts.values() for d in c._series.values())
    assert charts["network"].series_names == [
        'network_receive_bytes_per_second{interface="eth0"}',
        'network_transmit_bytes_per_second{interface="eth0"}',
    ]
    assert "eth0 received" in charts["network"].readout_text()
    busy = charts["cpu"].plot.listDataItems()[0]
    assert busy.opts["autoDownsample"] and busy.opts["clipToView"]
    assert busy.yData.min() > 0 and busy.yData.max() < 100
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(NodeDetailDialog) is None, timeout=2000)


def test_the_range_selector_reads_the_rollups_and_the_crosshair_reads_values(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _demo(running_app, tmp_path)
    dialog = open_node_page(window, qtbot)
    board, cpu = dialog.board, dialog.charts["cpu"]
    qtbot.waitUntil(lambda: cpu.point_count() > 0, timeout=15_000)
    assert cpu.resolution == "raw" and cpu.step is None
    texts = [board.range_box.itemText(i) for i in range(board.range_box.count())]
    assert texts == [
        "Last 15 minutes",
        "Last hour",
        "Last 6 hours",
        "Last 24 hours",
        "Last 7 days",
        "Last 30 days",
    ]

    def choose(index: int) -> None:
        reads = board.reads
        board.range_box.setCurrentIndex(index)
        qtbot.waitUntil(lambda: board.reads > reads and cpu.point_count() > 0, timeout=10_000)

    choose(0)  # fifteen minutes of raw samples
    assert cpu.resolution == "raw"
    assert cpu.last_time() - cpu._series[cpu.series_names[0]].times[0] <= 15 * 60
    choose(3)  # a day: the one-minute rollups, with their min–max band
    assert cpu.resolution == "1m" and cpu.step == 60
    assert any(isinstance(i, pg.FillBetweenItem) for i in cpu.plot.getPlotItem().items)
    drawn = cpu._series[cpu.series_names[0]]
    assert (drawn.low <= drawn.average + 1e-9).all() and (drawn.average <= drawn.high + 1e-9).all()
    choose(5)  # thirty days: still within the budget
    assert cpu.point_count() <= 1500 and cpu.step is not None and cpu.step >= 60

    choose(2)
    # The crosshair, moved by the mouse over the middle of the chart, reads the values there.
    times = cpu._series[cpu.series_names[0]].times
    middle = float(times[len(times) // 2])
    box = cpu.plot.getPlotItem().vb
    cpu.plot.scene().sigMouseMoved.emit(box.mapViewToScene(QPointF(middle, 50.0)))
    assert cpu.crosshair.isVisible()
    assert abs(cpu.crosshair.value() - middle) < 30
    text = cpu.readout_text()
    assert text.startswith(i18n.format_time(cpu.crosshair.value(), "en"))
    assert "used:" in text and text.rstrip().endswith("%")
    window.language.set("ja")
    assert cpu.readout_text().startswith(i18n.format_time(cpu.crosshair.value(), "ja"))
    assert "使用中" in cpu.readout_text()
    assert dialog.windowTitle().startswith("ノード")
    # Away from the chart: the newest values again.
    cpu.plot.scene().sigMouseMoved.emit(QPointF(-50, -50))
    assert not cpu.crosshair.isVisible()
    newest = cpu._series[cpu.series_names[0]].times[-1]
    assert cpu.readout_text().startswith(i18n.format_time(float(newest), "ja"))


def test_live_samples_are_appended_without_reading_the_range_again(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desktop.charts, "LIVE_SECONDS", 0.3)
    window = _demo(running_app, tmp_path, speed=30)  # a sample per node every 0.5 s
    dialog = open_node_page(window, qtbot)
    board, cpu = dialog.board, dialog.charts["cpu"]
    qtbot.waitUntil(lambda: cpu.point_count() > 0, timeout=15_000)
    reads, first_end, count = board.reads, cpu.last_time(), cpu.point_count()
    qtbot.waitUntil(lambda: cpu.last_time() > first_end + 1, timeout=10_000)
    assert board.reads == reads, "appended, not read again"
    assert board.appends > 0
    assert cpu.point_count() > count
    item = cpu.plot.listDataItems()[0]
    assert item.xData[-1] == cpu.last_time() and time.time() - item.xData[-1] < 5
    # The readout follows the newest sample.
    assert cpu.readout_text().startswith(i18n.format_time(cpu.last_time(), "en"))


def test_the_metrics_tab_opens_the_node_page(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _demo(running_app, tmp_path)
    window.tabs.setCurrentWidget(window.metrics_view)
    view = window.metrics_view
    qtbot.waitUntil(lambda: view.node_box.count() > 1, timeout=10_000)
    view.node_box.setCurrentIndex(1)
    qtbot.mouseClick(view.details_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(NodeDetailDialog)
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.node == view.node_box.currentText()
    qtbot.waitUntil(lambda: dialog.charts["load"].point_count() > 0, timeout=15_000)
    assert len(dialog.charts["load"].series_names) == 1  # the demo simulates load1 only


@pytest.mark.cluster
def test_a_real_nodes_page_charts_history_from_the_store(
    kube_cluster: KwokCluster, running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    kube_cluster.apply(
        namespace("detail"),
        kwok_node("detail-node"),
        deployment("web", "detail", node="detail-node", replicas=3),
    )
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None

    def add(hub: Hub) -> None:
        hub.watch_context(KubeTarget(kubeconfigs, context))

    window = running_app(add, kubeconfigs, history=tmp_path / "history.sqlite3")
    window.clusters.setCurrentRow(0)
    qtbot.waitUntil(lambda: "synced" in window.clusters.item(0).text(), timeout=60_000)
    # Two hours of a probe's samples, as an agent would have delivered them.
    assert window.context is not None and window.context.hub.history is not None
    store = window.context.hub.history
    now = time.time()
    times = np.arange(now - 2 * 3600, now, 15.0)
    wave = np.sin(times / 600)
    names = (
        'cpu_usage_percent{mode="idle"}',
        'cpu_core_usage_percent{cpu="0",mode="idle"}',
        'cpu_core_usage_percent{cpu="1",mode="idle"}',
        "memory_used_percent",
        'filesystem_used_percent{device="sda1",fstype="ext4",mountpoint="/"}',
        'temperature_celsius{chip="coretemp",sensor="Package id 0"}',
    )
    values = np.column_stack(
        [60 + 20 * wave, 50 + 30 * wave, 70 - 20 * wave, 40 + 5 * wave, 63 + 0 * wave, 55 + wave]
    )
    store.record_node_samples(context, NodeSampleBlock("detail-node", times, names, values))
    store.flush()

    dialog = open_node_page(window, qtbot, "detail-node")
    charts = dialog.charts
    qtbot.waitUntil(lambda: charts["temperature"].point_count() > 0, timeout=15_000)
    assert len(times) - 2 <= charts["cpu"].point_count() <= len(times)
    assert charts["cores"].series_names and len(charts["cores"].series_names) == 2
    assert "core 0" in charts["cores"].readout_text() and "core 1" in charts["cores"].readout_text()
    assert "/: 63%" in charts["disk_space"].readout_text()
    assert "coretemp Package id 0" in charts["temperature"].readout_text()
    assert "°C" in charts["temperature"].readout_text()
    for key in ("load", "network", "swap", "disk_io"):
        assert charts[key].isHidden(), key  # no such series for this node
    busy = charts["cpu"]._series[charts["cpu"].series_names[0]].average
    assert np.allclose(busy, 100 - (60 + 20 * wave)[-len(busy) :], atol=1e-6)
    # Its pods, from the real API server.
    qtbot.waitUntil(lambda: dialog.pod_model.rowCount() == 3, timeout=30_000)
    assert {dialog.pod_model.record(r).namespace for r in range(3)} == {"detail"}
    # Ready as kwok reports it (its heartbeat can lag on a busy machine: wait, do not guess).
    qtbot.waitUntil(lambda: dialog.facts.text("detail.status").startswith("Ready"), timeout=60_000)
