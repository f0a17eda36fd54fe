"""Operations from the window on the real control plane: the scale dialog previews, runs
and reports; the Audit tab shows the entry and verifies the log; the console answers.

With ATLHYPER_UPDATE_SHOTS=1 the dialog and the audit view are also saved into
docs/screenshots/ (the other views come from ``./dev shots``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox
from pytestqt.qtbot import QtBot

from headless_agent import i18n
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.ops.commands import Command
from tests.cluster.kube_objects import deployment, kwok_node, namespace
from tests.gui.conftest import AppFactory
from tests.kubeharness.cluster import KwokCluster

pytestmark = [pytest.mark.gui, pytest.mark.cluster]

NS = "gui-ops"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _save(widget: object, name: str, folder: Path) -> None:
    path = folder / name
    widget.grab().save(str(path))  # type: ignore[attr-defined]
    assert path.stat().st_size > 1000
    if os.environ.get("ATLHYPER_UPDATE_SHOTS") == "1":
        shutil.copy(path, SHOTS / name)


def test_scale_through_the_dialog_and_find_it_audited(
    running_app: AppFactory, qtbot: QtBot, kube_cluster: KwokCluster, tmp_path: Path
) -> None:
    kube_cluster.apply(
        namespace(NS),
        kwok_node("gui-ops-node"),
        deployment("ops-web", NS, node="gui-ops-node", replicas=2),
    )
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None

    def add(hub: Hub) -> None:
        hub.watch_context(KubeTarget(kubeconfigs, context))

    window = running_app(add, history=tmp_path / "h.sqlite3")
    window.resize(1280, 800)
    model = window.workload_model

    def ready(expected: str) -> bool:
        for row in range(model.rowCount()):
            record = model.record(row)
            if record.namespace == NS and record.name == "ops-web":
                return bool(model.index(row, 3).data() == expected)
        return False

    qtbot.waitUntil(lambda: ready("2/2"), timeout=90_000)

    dialog = window.open_operation(Command("scale", "Deployment", NS, "ops-web"))
    assert dialog is not None
    replicas = dialog.fields["replicas"]
    assert isinstance(replicas, QSpinBox) and replicas.value() == 2
    replicas.setValue(4)
    assert dialog.change.text() == f"Deployment {NS}/ops-web: 2 → 4 replicas"
    assert dialog.where.text() == f"on cluster {context}, with kubeconfig context {context}"
    assert dialog.run_button.isEnabled() and not dialog.confirm_protected.isVisible()
    _save(dialog, "operation-scale-en.png", tmp_path)

    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome is not None and dialog.outcome.ok
    assert dialog.result.text() == f"Deployment {NS}/ops-web scaled from 2 to 4 replicas"
    assert not dialog.run_button.isEnabled()  # one run per dialog: no double scale
    qtbot.waitUntil(lambda: ready("4/4"), timeout=90_000)
    dialog.close()

    window.tabs.setCurrentWidget(window.audit_view)
    audit = window.audit_view.model
    qtbot.waitUntil(lambda: audit.rowCount() == 1, timeout=10_000)
    row = [audit.index(0, c).data() for c in range(audit.columnCount())]
    assert row[2:6] == [context, "Scale", f"Deployment {NS}/ops-web", "succeeded"]
    window.audit_view.verify()
    qtbot.waitUntil(lambda: "intact" in window.audit_view.status.text(), timeout=10_000)
    _save(window, "main-audit-en.png", tmp_path)

    export = tmp_path / "audit.csv"
    window.audit_view.export_to(export, "csv")
    qtbot.waitUntil(export.exists, timeout=10_000)
    assert "ops-web" in export.read_text()

    # The console: the same path, in kubectl's words.
    window.tabs.setCurrentWidget(window.console_view)
    window.console_view.input.setText(f"get deploy -n {NS}")
    window.console_view.submit()
    qtbot.waitUntil(lambda: "ops-web" in window.console_view.output.toPlainText(), timeout=10_000)
    window.console_view.input.setText("apply -f everything.yaml")
    window.console_view.submit()
    qtbot.waitUntil(
        lambda: "'apply' is not run here" in window.console_view.output.toPlainText(),
        timeout=10_000,
    )
    _save(window, "main-console-en.png", tmp_path)


def test_logs_follow_without_repeats_and_yaml_is_applied_only_after_a_dry_run(
    running_app: AppFactory, qtbot: QtBot, kube_cluster: KwokCluster, tmp_path: Path
) -> None:
    log_file = tmp_path / "api.log"
    lines = [f"2026-11-27T01:00:0{i}.000000000Z stdout F started worker {i}\n" for i in range(3)]
    log_file.write_text("".join(lines))
    kube_cluster.apply(
        namespace(NS),
        kwok_node("gui-ops-node"),
        deployment("ops-api", NS, node="gui-ops-node", replicas=1),
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "gui-ops-logs"},
            "spec": {
                "selector": {"matchNamespaces": [NS]},
                "logs": [{"containers": ["main"], "logsFile": str(log_file)}],
            },
        },
    )
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None
    window = running_app(
        lambda hub: hub.watch_context(KubeTarget(kubeconfigs, context)),
        history=tmp_path / "h.sqlite3",
    )
    handle_pods = window.pod_model

    def api_pod() -> tuple[str, str] | None:
        for row in range(handle_pods.rowCount()):
            record = handle_pods.record(row)
            running = handle_pods.index(row, 2).data() == "Running"
            if record.namespace == NS and record.name.startswith("ops-api-") and running:
                return record.namespace, record.name
        return None

    qtbot.waitUntil(lambda: api_pod() is not None, timeout=90_000)
    found = api_pod()
    assert found is not None
    window.open_operation(Command("logs", "Pod", *found))
    logs = window.side_dialog
    assert logs is not None
    text = logs.text  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "started worker 2" in text.toPlainText(), timeout=30_000)
    with log_file.open("a") as handle:
        handle.write("2026-11-27T01:00:05.000000000Z stderr F worker 1 stalled\n")
    qtbot.waitUntil(lambda: "worker 1 stalled" in text.toPlainText(), timeout=30_000)
    shown = text.toPlainText().splitlines()
    assert shown == [f"started worker {i}" for i in range(3)] + ["worker 1 stalled"]
    logs.search.setText("stalled")  # type: ignore[union-attr]
    logs.find_next()  # type: ignore[union-attr]
    assert text.textCursor().selectedText() == "stalled"
    _save(logs, "logs-en.png", tmp_path)
    logs.close()

    window.open_operation(Command("yaml", "Deployment", NS, "ops-api"))
    editor = window.side_dialog
    assert editor is not None
    qtbot.waitUntil(lambda: "ops-api" in editor.editor.toPlainText(), timeout=10_000)  # type: ignore[union-attr]
    assert not editor.apply_button.isEnabled()  # type: ignore[union-attr]
    edited = editor.editor.toPlainText().replace(
        "app: ops-api\n", "app: ops-api\n    tier: back\n", 1
    )  # type: ignore[union-attr]
    editor.editor.setPlainText(edited)  # type: ignore[union-attr]
    qtbot.mouseClick(editor.check_button, Qt.MouseButton.LeftButton)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "+    tier: back" in editor.diff.toPlainText(), timeout=10_000)  # type: ignore[union-attr]
    assert editor.apply_button.isEnabled()  # type: ignore[union-attr]
    _save(editor, "yaml-edit-en.png", tmp_path)
    qtbot.mouseClick(editor.apply_button, Qt.MouseButton.LeftButton)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "applied" in editor.status.text(), timeout=10_000)  # type: ignore[union-attr]
    live = kube_cluster.get("deployment", "ops-api", "-n", NS)
    assert live["metadata"]["labels"]["tier"] == "back"
    editor.close()


def test_read_only_mode_refuses_every_change_in_words(
    running_app: AppFactory, qtbot: QtBot, kube_cluster: KwokCluster
) -> None:
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    context = kubeconfigs.current_context
    assert context is not None
    window = running_app(
        lambda hub: hub.watch_context(KubeTarget(kubeconfigs, context)), read_only=True
    )
    qtbot.waitUntil(lambda: "synced" in window.clusters.item(0).text(), timeout=30_000)
    dialog = window.open_operation(Command("cordon", "Node", "", "gui-ops-node"))
    assert dialog is not None
    assert not dialog.run_button.isEnabled()
    assert "read-only mode" in dialog.result.text()
    dialog.close()
    window.language.set("ja")  # the refusal in the language the window speaks
    dialog = window.open_operation(Command("cordon", "Node", "", "gui-ops-node"))
    assert dialog is not None
    assert dialog.result.text() == i18n.message("ja", "operation.refused.read_only")
