"""The shell around the views: the command palette, the namespace filter, keyboard
shortcuts, light and dark themes, Settings, and what is remembered between runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDoubleSpinBox
from pytestqt.qtbot import QtBot

from desktop.command_palette import CommandPalette, Entry, matching
from desktop.language import Language
from desktop.main_window import MainWindow
from desktop.preferences import Preferences
from desktop.settings_dialog import SettingsDialog
from desktop.settings_pages import ClustersPage, HistoryPage
from desktop.theme import Theme
from headless_agent.ops.commands import Command
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def test_palette_matching_is_by_words_in_any_order() -> None:
    def noop() -> None:
        return None

    entries = [
        Entry("Pod", "shop/checkout-1", noop),
        Entry("Pod", "payments/ledger-0", noop),
        Entry("Go to", "Pods", noop),
        Entry("Cluster", "demo-prod-eu", noop),
    ]
    assert [e.text for e in matching(entries, "checkout shop")] == ["shop/checkout-1"]
    assert matching(entries, "POD")[0].text == "Pods"  # the name starts with it
    assert matching(entries, "nothing like this") == []
    assert len(matching(entries * 500, "pod", limit=200)) == 200


def test_the_palette_jumps_to_a_pod_and_the_namespace_filter_narrows_the_tables(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    qtbot.waitUntil(lambda: window.pod_model.rowCount() > 10, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    palette = window.palette
    assert isinstance(palette, CommandPalette) and palette.isVisible()
    qtbot.keyClicks(palette.query, "pod ledger")
    assert palette.shown_labels() == ["Pod: payments/ledger-0"]
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert not palette.isVisible()
    assert window.tabs.currentIndex() == 1 and window.pod_filter.text() == "ledger-0"
    assert window.pod_proxy.rowCount() == 1
    assert window.pod_view.selectionModel().selectedRows()[0].data() == "payments"

    window.pod_filter.clear()
    names = [window.namespace_box.itemText(i) for i in range(window.namespace_box.count())]
    assert names[0] == "All namespaces" and "shop" in names and "payments" in names
    window.namespace_box.setCurrentIndex(names.index("shop"))
    shown = {window.pod_proxy.index(r, 0).data() for r in range(window.pod_proxy.rowCount())}
    assert shown == {"shop"}
    workloads = window.workload_proxy
    assert {workloads.index(r, 0).data() for r in range(workloads.rowCount())} == {"shop"}
    assert workloads.rowCount() > 0
    # The palette offers the namespaces and the views too; Ctrl+3 goes to the third tab.
    labels = [e.label for e in window.palette_entries()]
    assert "Namespace: payments" in labels and "Go to: History" in labels
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 2


def test_dark_and_light_themes_and_the_charts_follow(qapp: QApplication, qtbot: QtBot) -> None:
    theme = Theme(qapp, "dark")
    window = MainWindow(Language("en"), theme=theme)
    qtbot.addWidget(window)
    try:
        base = qapp.palette().color(QPalette.ColorRole.Base)
        assert base.lightness() < 60
        plot = next(iter(window.metrics_view.plots.values()))
        assert plot.backgroundBrush().color().lightness() < 60
        theme.set("light")
        assert qapp.palette().color(QPalette.ColorRole.Base).lightness() > 200
        assert plot.backgroundBrush().color().lightness() > 200
        with pytest.raises(ValueError, match="unknown theme"):
            theme.set("sepia")
    finally:
        theme.set("light")
        window.close()


def test_settings_apply_language_theme_and_notifications_and_they_are_remembered(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "desktop.ini"
    theme = Theme(qapp, "light")
    preferences = Preferences(path)
    window = MainWindow(Language("en"), preferences=preferences, theme=theme)
    qtbot.addWidget(window)
    window.show()
    dialog = window.open_settings()
    assert isinstance(dialog, SettingsDialog)
    general = dialog.general
    general.language_box.setCurrentIndex(general.language_box.findData("zh"))
    general.theme_box.setCurrentIndex(general.theme_box.findData("dark"))
    general.notifications.setChecked(False)
    dialog.apply()
    assert window.language.code == "zh" and window.tabs.tabText(1) == "Pod"
    assert window.tabs.tabText(2) == "节点"
    assert theme.dark and qapp.palette().color(QPalette.ColorRole.Base).lightness() < 60
    window.notify(
        {"status": "firing", "rule": "r", "alerts": [], "resolved": [], "id": "x", "at": 0}
    )
    assert window.tray.shown == []  # turned off

    # Columns and the tab in view are kept when the window closes...
    window.pod_view.setColumnWidth(1, 411)
    window.tabs.setCurrentIndex(2)
    window.close()
    theme.set("light")
    # ... and a new window (the next run) comes back the same.
    again = Preferences(path)
    assert (again.language, again.theme, again.notifications) == ("zh", "dark", False)
    second = MainWindow(Language(again.language), preferences=again)
    qtbot.addWidget(second)
    assert second.tabs.currentIndex() == 2
    assert second.pod_view.columnWidth(1) == 411
    second.close()


def test_all_clusters_in_one_list_with_a_cluster_column_and_operations_on_the_rows_cluster(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    hub = window.context.hub if window.context else None
    assert hub is not None
    qtbot.waitUntil(lambda: window.pod_model.rowCount() > 0, timeout=5000)
    column = window.pod_model.cluster_column
    assert window.pod_view.isColumnHidden(column)
    expected = {
        name: len(list(handle.state.records("Pod"))) for name, handle in hub.clusters.items()
    }
    window.all_button.click()
    qtbot.waitUntil(lambda: window.pod_model.rowCount() == sum(expected.values()), timeout=5000)
    assert not window.pod_view.isColumnHidden(column)
    assert window.pod_model.headerData(column, Qt.Orientation.Horizontal) == "Cluster"
    shown: dict[str, int] = {}
    for row in range(window.pod_model.rowCount()):
        cluster = window.pod_model.index(row, column).data()
        shown[cluster] = shown.get(cluster, 0) + 1
    assert shown == expected
    assert "clusters synced" in window.cluster_status.text()

    # An operation from a row acts on that row's cluster, not the one selected before.
    selected = window.clusters.item(0).data(Qt.ItemDataRole.UserRole)
    model = window.pod_model
    other = next(r for r in range(model.rowCount()) if model.cluster_of(r) != selected)
    record = model.record(other)
    assert window.context is not None
    window.context.row_cluster = model.cluster_of(other)  # as the table's context menu does
    command = Command("restart-pod", "Pod", record.namespace, record.name)
    dialog = window.open_operation(command)
    assert dialog is not None and dialog.handle.name == model.cluster_of(other) != selected
    dialog.close()

    # Choosing a cluster in the sidebar goes back to that one cluster.
    window.clusters.setCurrentRow(1)
    qtbot.waitUntil(lambda: window.pod_view.isColumnHidden(column), timeout=5000)
    second = window.clusters.item(1).data(Qt.ItemDataRole.UserRole)
    qtbot.waitUntil(lambda: window.pod_model.rowCount() == expected[second], timeout=5000)
    assert not window.all_button.isChecked()
    window.all_button.click()  # and the button, pressed again, too
    qtbot.waitUntil(lambda: window.pod_model.rowCount() == sum(expected.values()))
    window.all_button.click()
    qtbot.waitUntil(lambda: window.pod_model.rowCount() == expected[second], timeout=5000)


def test_settings_pages_show_the_history_and_change_how_long_it_is_kept(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=30), history=tmp_path / "h.sqlite3")
    dialog = window.open_settings()
    pages = {page.key: widget for page, widget in dialog.extra}
    history = pages["history"]
    assert isinstance(history, HistoryPage)
    qtbot.waitUntil(lambda: history.table.rowCount() > 0, timeout=10000)
    assert "MiB" in history.summary.text()
    kinds = [history.table.item(r, 0).text() for r in range(history.table.rowCount())]
    row = kinds.index("events")
    box = history.table.cellWidget(row, 2)
    assert isinstance(box, QDoubleSpinBox)
    box.setValue(3)
    assert set(history.changed_rules()) == {"events"}
    dialog.apply()
    store = history.store
    assert store is not None

    def kept() -> float | None:
        store.flush()
        return store.retention()["events"].max_age

    qtbot.waitUntil(lambda: kept() == 3 * 86400, timeout=5000)


def test_the_clusters_page_forgets_an_agent_and_its_token(
    running_app: AppFactory, qtbot: QtBot
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1))
    preferences = window.preferences
    token = preferences.save_token("edge", "secret-token")
    preferences.agents = [{"name": "edge", "url": "https://e:8443", "token_file": str(token)}]
    preferences.kubeconfig_files = ["/home/me/lab.yaml"]
    dialog = window.open_settings()
    page = {page.key: widget for page, widget in dialog.extra}["clusters"]
    assert isinstance(page, ClustersPage)
    assert page.files.item(0).text() == "/home/me/lab.yaml"
    assert page.agents.item(0).text().startswith("edge")
    page.agents.item(0).setSelected(True)
    page._remove(page.agents)
    dialog.apply()
    assert preferences.agents == [] and not token.exists()
    assert preferences.kubeconfig_files == ["/home/me/lab.yaml"]


def test_contexts_from_several_kubeconfig_files_are_grouped_under_their_file(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    from headless_agent.kube.kubeconfig import load_kubeconfigs
    from tests.gui.test_welcome import KUBECONFIG

    first, second = tmp_path / "lab.yaml", tmp_path / "prod.yaml"
    first.write_text(KUBECONFIG)
    second.write_text(
        KUBECONFIG.replace("lab-admin", "prod-admin")
        .replace("name: lab", "name: prod")
        .replace("cluster: lab", "cluster: prod")
    )
    kubeconfigs = load_kubeconfigs([first, second])
    window = running_app(lambda hub: hub.watch_demo(speed=1), kubeconfigs)
    rows = [window.clusters.item(r) for r in range(window.clusters.count())]
    texts = [item.text().splitlines()[0] for item in rows]
    assert texts[-4:] == [str(first), "lab-admin", str(second), "prod-admin"]
    heading = rows[-4]
    assert not heading.flags() & Qt.ItemFlag.ItemIsSelectable
    assert heading.data(Qt.ItemDataRole.UserRole) is None
    before = window.clusters.currentRow()
    window.clusters.setCurrentItem(heading)  # a heading is not a cluster: nothing changes
    assert window.context is not None and window.context.cluster == window.clusters.item(
        before
    ).data(Qt.ItemDataRole.UserRole)
    assert str(first) not in [entry.text for entry in window.palette_entries()]
