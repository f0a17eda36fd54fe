"""The Overview tab: counts as the cluster state has them, open anomalies as the hub has
them, every cluster summed up, the history's recent events and alerts, a click through to
the Anomalies tab, and counting that does not follow every change of a busy cluster."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.overview_view import COUNT_INTERVAL, OverviewView
from headless_agent import i18n
from headless_agent.detect.anomaly import Severity
from headless_agent.kube.health import ClusterHealth
from headless_agent.kube.resources import WATCHED_KINDS
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import NodeRecord, PodRecord, parse_node, parse_pod
from tests.gui.conftest import AppFactory
from tests.unit import raw_objects as raw

pytestmark = pytest.mark.gui

ALERTS = """
[grouping]
group_wait = "1s"
group_interval = "2s"

[[channels]]
name = "desktop"
type = "desktop"

[[rules]]
name = "critical"
channels = ["desktop"]
severity = "critical"
"""


def expected_counts(state: ClusterState) -> tuple[dict[str, int], dict[str, int]]:
    """What the tab should say, worked out here from the records, the way kubectl would."""
    nodes = {"ready": 0, "not_ready": 0, "unknown": 0, "cordoned": 0}
    for node in state.records("Node"):
        assert isinstance(node, NodeRecord)
        ready = node.condition("Ready")
        status = ready.status if ready is not None else "Unknown"
        nodes[{"True": "ready", "False": "not_ready"}.get(status, "unknown")] += 1
        nodes["cordoned"] += node.unschedulable
    pods = dict.fromkeys(
        ("running", "pending", "succeeded", "failed", "crash_loop", "image_pull"), 0
    )
    pods |= {"terminating": 0, "unknown": 0}
    for pod in state.records("Pod"):
        assert isinstance(pod, PodRecord)
        waiting = {c.reason for c in pod.containers if c.state == "waiting"}
        if pod.deleting:
            pods["terminating"] += 1
        elif "CrashLoopBackOff" in waiting:
            pods["crash_loop"] += 1
        elif waiting & {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}:
            pods["image_pull"] += 1
        else:
            pods[pod.phase.lower() if pod.phase else "unknown"] += 1
    return nodes, pods


def _sum(parts: list[dict[str, int]]) -> dict[str, int]:
    return {key: sum(part[key] for part in parts) for key in parts[0]}


def _overview(window: MainWindow) -> OverviewView:
    view = window.views["overview"]
    assert isinstance(view, OverviewView)
    return view


def _select_cluster(window: MainWindow, name: str) -> None:
    for row in range(window.clusters.count()):
        if window.clusters.item(row).data(Qt.ItemDataRole.UserRole) == name:
            window.clusters.setCurrentRow(row)
            return
    raise AssertionError(f"no cluster {name!r} in the sidebar")


def _shown(view: OverviewView) -> tuple[dict[str, int], dict[str, int]]:
    """The counts as the labels say them (English digits)."""

    def number(text: str) -> int:
        return int(text.replace(",", ""))

    return (
        {key: number(stat.value.text()) for key, stat in view.node_stats.items()},
        {key: number(stat.value.text()) for key, stat in view.pod_stats.items()},
    )


def _severities(view: OverviewView) -> dict[Severity, int]:
    return {s: int(stat.value.text()) for s, stat in view.severity_stats.items()}


def _open_by_severity(window: MainWindow, clusters: set[str]) -> dict[Severity, int]:
    assert window.context is not None
    found = dict.fromkeys(Severity, 0)
    for anomaly in window.context.hub.open_anomalies():
        if anomaly.key.cluster in clusters:
            found[anomaly.severity] += 1
    return found


def test_counts_anomalies_events_and_alerts_of_one_cluster_and_of_all(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OverviewView, "STORE_REFRESH_SECONDS", 1.0)
    settings = tmp_path / "alerts.toml"
    settings.write_text(ALERTS)
    window = running_app(
        lambda hub: hub.watch_demo(speed=10), history=tmp_path / "h.sqlite3", alerts=settings
    )
    view = _overview(window)
    # After the window's own tables, before the views that look back (history, metrics...).
    keys = [spec.key for spec, _ in window.view_specs]
    assert keys.index("overview") < keys.index("history")
    assert window.tabs.indexOf(view) >= 4
    assert window.tabs.tabText(window.tabs.indexOf(view)) == "Overview"
    assert window.context is not None
    hub = window.context.hub
    name = "demo-prod-eu"
    _select_cluster(window, name)
    window.tabs.setCurrentWidget(view)
    state = hub.clusters[name].state
    assert view.heading.text() == name

    # Counts: what the cluster's state says (the demo keeps changing: wait for agreement).
    qtbot.waitUntil(lambda: _shown(view) == expected_counts(state), timeout=10000)
    nodes, pods = expected_counts(state)
    assert nodes["ready"] > 0 and pods["running"] > 0
    assert view.pods_card.aside.text() == f"{sum(pods.values())} in total"
    # Anomalies: as the hub has them open, for this cluster.
    qtbot.waitUntil(lambda: _open_by_severity(window, {name})[Severity.CRITICAL] > 0, timeout=20000)
    qtbot.waitUntil(lambda: _severities(view) == _open_by_severity(window, {name}), timeout=5000)
    assert {a.key.cluster for a in view.top_model._rows} == {name}

    # Recent Warning events and alerts come from the history file.
    qtbot.waitUntil(lambda: view.event_model.rowCount() > 0, timeout=30000)
    assert view.event_view.isVisible() and not view.no_events.isVisible()
    store = hub.history
    assert store is not None
    stored = {(e.key, e.reason) for e in store.search_events(name, limit=500)}
    shown_events = [view.event_model.row(r) for r in range(view.event_model.rowCount())]
    assert {(e.key, e.reason) for e in shown_events} <= stored
    assert {e.cluster for e in shown_events} == {name}
    qtbot.waitUntil(lambda: view.alert_model.rowCount() > 0, timeout=30000)
    row = view.alert_model.row(0)
    assert row.channel == "desktop"
    assert name in {a["cluster"] for a in row.payload["alerts"] + row.payload["resolved"]}
    assert view.alert_view.model().index(0, 1).data().startswith("[")  # the rendered subject

    # CPU and memory from the demo's node metrics.
    qtbot.waitUntil(lambda: view.cpu_value.text().endswith("%"), timeout=10000)
    assert view.store_view is not None
    assert view.store_view.usage.nodes == state.count("Node")

    # Every cluster together: the sums of the clusters.
    view.all_box.setChecked(True)
    names = set(hub.clusters)
    assert view.heading.text() == f"All clusters ({len(names)})"

    def summed() -> tuple[dict[str, int], dict[str, int]]:
        each = [expected_counts(hub.clusters[n].state) for n in sorted(names)]
        return _sum([e[0] for e in each]), _sum([e[1] for e in each])

    qtbot.waitUntil(lambda: _shown(view) == summed(), timeout=10000)
    qtbot.waitUntil(lambda: _severities(view) == _open_by_severity(window, names), timeout=5000)
    assert sum(_severities(view).values()) == len(hub.open_anomalies())
    visible_rows = [r for r in view._cluster_rows if r.name.isVisible()]
    assert {r.name.text() for r in visible_rows} == names
    assert not view.top_view.isColumnHidden(1)  # the cluster column, in this mode only


def test_clicking_an_anomaly_opens_it_in_the_anomalies_tab(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=30))
    view = _overview(window)
    window.tabs.setCurrentWidget(view)
    view.all_box.setChecked(True)
    qtbot.waitUntil(lambda: view.top_model.rowCount() > 0, timeout=20000)
    index = view.top_view.model().index(0, 2)
    clicked = view.top_model.row(0)
    rect = view.top_view.visualRect(index)
    qtbot.mouseClick(view.top_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is window.anomaly_view
    assert window.tabs.currentIndex() == 0
    [selected] = window.anomaly_view.selectionModel().selectedRows()
    assert window.anomaly_model is not None
    assert window.anomaly_model.anomalies()[selected.row()].key == clicked.key


def test_a_busy_cluster_is_counted_every_few_seconds_not_on_every_change(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    """30,000 pods, thousands of updates in a burst: the counts follow, a few times."""
    pods, burst_seconds = 30_000, 3.0
    holder: dict[str, Any] = {}
    template = parse_pod(raw.pod("app", "ns", owner=None))
    node = parse_node(raw.node("node-0000"))

    async def source(state: ClusterState, health: ClusterHealth) -> None:
        for kind in WATCHED_KINDS:
            health.expect(kind.kind)
        nodes = state.begin_relist("Node")
        nodes.feed_record(node)
        nodes.finish()
        listing = state.begin_relist("Pod")
        records = [
            dataclasses.replace(template, namespace=f"ns-{i % 50:02d}", name=f"app-{i:06d}")
            for i in range(pods)
        ]
        for record in records:
            listing.feed_record(record)
        listing.finish()
        for kind in WATCHED_KINDS:
            health.watching(kind.kind, state.count(kind.kind))
        # The test says when the tab is in view from the Qt side, where no trio.Event can
        # be set: poll.
        while "view" not in holder or not holder["view"].isVisible():  # noqa: ASYNC110
            await trio.sleep(0.05)
        await trio.sleep(COUNT_INTERVAL + 0.5)  # the first count is behind us
        view: OverviewView = holder["view"]
        before, changes, began = view.counts_made, 0, time.monotonic()
        phase = "Pending"
        while time.monotonic() - began < burst_seconds:
            for number in range(0, pods, pods // 50):  # 50 pods every 10 ms: ~15,000 changes
                record = records[(number + changes) % pods]
                changed = dataclasses.replace(record, phase=phase)
                records[(number + changes) % pods] = changed
                state.apply_record("Pod", changed.key, changed)
            changes += 50
            phase = "Running" if phase == "Pending" else "Pending"
            await trio.sleep(0.01)
        holder.update(
            changes=changes, counted=view.counts_made - before, took=time.monotonic() - began
        )
        await trio.sleep_forever()

    window = running_app(lambda hub: hub.add_cluster("busy", "kubeconfig", source))
    view = _overview(window)
    _select_cluster(window, "busy")
    window.tabs.setCurrentWidget(view)
    holder["view"] = view
    qtbot.waitUntil(lambda: "counted" in holder, timeout=30000)
    assert holder["changes"] >= 1000
    # At most one count per interval (and one at either end), whatever the changes.
    assert 1 <= holder["counted"] <= holder["took"] / COUNT_INTERVAL + 2
    state = window.context.hub.clusters["busy"].state  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: _shown(view) == expected_counts(state), timeout=10000)
    assert sum(_shown(view)[1].values()) == pods


def test_without_a_history_the_counts_still_show_and_the_rest_says_nothing(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    view = _overview(window)
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: _shown(view)[1]["running"] > 0, timeout=5000)
    assert view.store_view is None  # no history file: nothing read, no "nothing found"
    for quiet in (view.no_usage, view.no_events, view.no_alerts, view.event_view):
        assert not quiet.isVisible()
    assert view.cpu_value.text() == "—"
    assert view.slo_text.text() == i18n.message("en", "overview.no_slos")
