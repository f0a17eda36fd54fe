"""A workload's page: on the demo fleet a Deployment's pods (exactly those the state
resolves to it), its events and its open anomaly while its pods crash; on the real control
plane a Job's and a CronJob's pages, opened from the Resources tab, list the job's pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.operation_dialog import OperationDialog
from desktop.pod_detail import PodDetailDialog
from desktop.workload_detail import WorkloadDetailDialog
from headless_agent import i18n
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.state.records import PodRecord, Record
from tests.cluster.kube_objects import kwok_node, namespace
from tests.gui.conftest import AppFactory
from tests.gui.test_languages import _patterns, visible_texts
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.gui


def _prod(running_app: AppFactory, qtbot: QtBot, tmp_path: Path) -> MainWindow:
    """The demo fleet with time compressed; the cluster whose checkout pods crash."""
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    names = [window.clusters.item(r).data(Qt.ItemDataRole.UserRole) for r in range(3)]
    window.clusters.setCurrentRow(next(i for i, n in enumerate(names) if "prod" in n))
    model = window.workload_model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and "prod" in model.cluster_of(0), timeout=30_000)
    return window


def open_details(
    window: MainWindow, qtbot: QtBot, view: QTableView, kind: str, record: Record
) -> WorkloadDetailDialog:
    """Through a table's context menu, as a user does."""
    menu = window.context_menu(view, kind, record)
    entries = [a for a in menu.actions() if a.data() == "details"]
    title = i18n.message(window.language.code, "detail.action")
    assert [a.text() for a in entries] == [title] and menu.actions()[0] is entries[0]
    entries[0].trigger()
    dialogs = [d for d in window.findChildren(WorkloadDetailDialog) if d.name == record.name]
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    qtbot.addWidget(dialogs[0])
    return dialogs[0]


def open_checkout(window: MainWindow, qtbot: QtBot) -> WorkloadDetailDialog:
    model = window.workload_model
    row = next(
        r
        for r in range(model.rowCount())
        if model.record(r).key == ("shop", "checkout") and model.kind_of(r) == "Deployment"
    )
    window.context.row_cluster = model.cluster_of(row)  # as the window's menu does
    return open_details(window, qtbot, window.workload_view, "Deployment", model.record(row))


def _names(dialog: WorkloadDetailDialog) -> set[str]:
    model = dialog.pod_model
    return {model.record(r).name for r in range(model.rowCount())}


def test_a_deployments_page_lists_exactly_its_pods_and_its_open_anomaly(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = _prod(running_app, qtbot, tmp_path)
    dialog = open_checkout(window, qtbot)
    state = dialog.handle.state
    assert "prod" in dialog.handle.name

    def expected() -> set[str]:
        return {
            p.name
            for p in state.records("Pod")
            if isinstance(p, PodRecord)
            and p.namespace == "shop"
            and state.owner_of(p) == ("Deployment", "checkout")
        }

    qtbot.waitUntil(lambda: bool(expected()) and _names(dialog) == expected(), timeout=10_000)
    others = {p.name for p in state.records("Pod") if p.namespace == "shop"} - expected()
    assert others, "the namespace runs other workloads' pods too"
    assert dialog.tabs.tabText(0) == f"Pods ({len(expected())})"
    assert dialog.windowTitle() == "Deployment shop/checkout"
    record = dialog.record()
    assert dialog.facts.text("detail.kind") == "Deployment"
    assert dialog.facts.text("detail.replicas") == f"{record.ready}/{record.desired} ready"
    assert dialog.facts.text("detail.images") == ", ".join(record.images)
    assert "Available" in dialog.conditions.texts(0)
    # The crash loop: the detector's anomaly about the Deployment's pods is on the page.
    hub = window.context.hub

    def theirs() -> list[Any]:
        return [
            a
            for a in hub.open_anomalies()
            if a.key.cluster == dialog.handle.name
            and (a.key.kind, a.key.namespace, a.key.name) == ("Deployment", "shop", "checkout")
        ]

    qtbot.waitUntil(lambda: bool(theirs()), timeout=20_000)
    qtbot.waitUntil(lambda: dialog.anomalies.rowCount() >= len(theirs()), timeout=5_000)
    assert {a.key.reason for a in theirs()} <= set(dialog.anomalies.texts(2))
    assert set(dialog.anomalies.texts(1)) == {"Deployment/checkout"}
    assert dialog.tabs.tabText(3) == f"Open anomalies ({dialog.anomalies.rowCount()})"
    assert dialog.no_anomalies.isHidden()
    # Its pods' Warning events.
    qtbot.waitUntil(lambda: "Warning" in dialog.events.texts(1), timeout=15_000)
    objects = {text.split("/", 1)[1] for text in dialog.events.texts(2)}
    assert objects & expected() or objects & {"checkout"}
    # A pod's page by double-click, and the scale dialog for this Deployment.
    first = dialog.pod_proxy.index(0, 1)
    dialog.pod_view.doubleClicked.emit(first)
    pod_pages = window.findChildren(PodDetailDialog)
    assert len(pod_pages) == 1 and pod_pages[0].name in expected()
    qtbot.addWidget(pod_pages[0])
    qtbot.mouseClick(dialog.operation_buttons["scale"], Qt.MouseButton.LeftButton)
    operation = window.findChild(OperationDialog)
    assert operation is not None and operation.isVisible()
    assert (operation.command.kind, operation.command.name) == ("Deployment", "checkout")
    operation.reject()


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_text_of_the_workload_page_is_from_the_catalog(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path, language: str
) -> None:
    window = _prod(running_app, qtbot, tmp_path)
    window.language.set(language)
    page = open_checkout(window, qtbot)
    qtbot.waitUntil(lambda: page.pod_model.rowCount() > 0, timeout=10_000)
    patterns = _patterns(language)
    for tab in range(page.tabs.count()):  # every page, as the user flips through them
        page.tabs.setCurrentIndex(tab)
        qtbot.wait(20)
        texts = visible_texts(page)  # type: ignore[arg-type]
        strangers = [t for t in texts if not any(p.match(t) for p in patterns)]
        assert strangers == [], page.tabs.tabText(tab)
    # Switching the language re-renders an open page.
    other = next(code for code in i18n.LANGUAGES if code != language)
    window.language.set(other)
    assert page.operation_buttons["scale"].text() == i18n.message(other, "action.scale")
    assert page.tabs.tabText(1) == i18n.message(other, "detail.tab.conditions")


NS = "gui-workload-detail"
NODE = "workload-detail-node"


def _jobs(namespace_name: str) -> list[dict[str, Any]]:
    meta = {"namespace": namespace_name}
    container = {"name": "main", "image": "busybox:1.36"}
    template = {"spec": {"restartPolicy": "Never", "containers": [container]}}
    return [
        namespace(namespace_name),
        kwok_node(NODE),
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", **meta},
         "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", **meta},
         "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}},
    ]  # fmt: skip


@pytest.mark.cluster
def test_a_jobs_and_a_cronjobs_pages_from_the_resources_tab(
    kube_cluster: KwokCluster, running_app: AppFactory, qtbot: QtBot
) -> None:
    kube_cluster.apply(*_jobs(NS))
    try:
        _jobs_and_cronjobs(kube_cluster, running_app, qtbot)
    finally:  # the node and the namespace go: other tests' Jobs must not run on the node
        kube_cluster.kubectl("delete", "namespace", NS, "--wait=false")
        kube_cluster.kubectl("delete", "node", NODE, "--wait=false")


def _jobs_and_cronjobs(kube_cluster: KwokCluster, running_app: AppFactory, qtbot: QtBot) -> None:
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None

    def add(hub: Hub) -> None:
        hub.watch_context(KubeTarget(kubeconfigs, context))

    window = running_app(add, kubeconfigs)
    view = window.views["resources"]
    window.tabs.setCurrentWidget(view)
    model = view.models["jobs"]
    view.filters["jobs"].setText(NS)

    def row_of(name: str) -> int | None:
        rows = range(model.rowCount())
        return next((r for r in rows if model.record(r).key == (NS, name)), None)

    qtbot.waitUntil(lambda: row_of("migrate") is not None, timeout=30_000)
    row = row_of("migrate")
    assert row is not None
    window.context.row_cluster = model.cluster_of(row)
    page = open_details(window, qtbot, view.views["jobs"], "Job", model.record(row))
    # kwok runs the Job's pod: the page lists it (and only it).
    qtbot.waitUntil(lambda: page.pod_model.rowCount() == 1, timeout=30_000)
    pod = page.pod_model.record(0)
    assert isinstance(pod, PodRecord) and (pod.owner_kind, pod.owner_name) == ("Job", "migrate")
    # The images its pod runs, once the pod reports its containers.
    qtbot.waitUntil(lambda: page.facts.text("detail.images") == "busybox:1.36", timeout=30_000)
    assert page.facts.text("detail.progress").endswith("succeeded, 0 failed")
    assert set(page.operation_buttons) == {"describe", "yaml"}
    page.close()

    # A CronJob's page: its schedule; a Job it starts (here by hand) brings its pod.
    cron_row = row_of("nightly")
    assert cron_row is not None
    cron = open_details(window, qtbot, view.views["jobs"], "CronJob", model.record(cron_row))
    assert cron.facts.text("detail.schedule") == "0 3 * * *"
    assert cron.facts.text("detail.suspended") == "no"
    assert cron.pod_model.rowCount() == 0 and not cron.tabs.isTabVisible(1)
    result = kube_cluster.kubectl(
        "create", "job", "nightly-now", "--from=cronjob/nightly", "-n", NS
    )
    assert result.returncode == 0, result.stderr
    qtbot.waitUntil(lambda: cron.pod_model.rowCount() == 1, timeout=30_000)
    assert cron.pod_model.record(0).owner_name == "nightly-now"
