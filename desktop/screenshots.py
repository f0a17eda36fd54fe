"""Render the main views in every language to PNG files (``./dev shots``).

Runs the real app on the demo fleet (time compressed so incidents have happened), selects
each view, and grabs the window. Use the offscreen platform: QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import shiboken6
import trio
from PySide6.QtWidgets import QApplication

from desktop.alert_setup import open_alerts
from desktop.app import open_history
from desktop.gui_gc import GuiThreadCollector
from desktop.language import Language
from desktop.main_window import MainWindow
from desktop.theme import Theme
from desktop.trio_guest import TrioGuest
from headless_agent import i18n
from headless_agent.hub import Hub


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "docs/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    language = Language("en")
    theme = Theme(app, "light")
    window = MainWindow(language, theme=theme)
    guest = TrioGuest(app)
    hub = Hub()
    hub.watch_demo(speed=12)
    written: list[Path] = []

    async def shot(tab: int, path: Path) -> None:
        window.tabs.setCurrentIndex(tab)
        await trio.sleep(0.3)
        window.grab().save(str(path))
        written.append(path)

    async def shoot() -> None:
        async with trio.open_nursery() as nursery:
            problem = await open_history(hub, None)  # the demo's throwaway history file
            # The built-in alert settings (not the user's own file): desktop notifications.
            settings = Path(tempfile.mkdtemp(prefix="atlhyper-shots-")) / "alerts.toml"
            alerts = open_alerts(hub, str(settings), window.notify)
            await nursery.start(hub.run)
            window.attach(hub, nursery, history_problem=problem, alerts=alerts)
            window.show()
            start = trio.current_time()
            await trio.sleep(3)  # the prod script's crash loop has started by now
            for code in i18n.LANGUAGES:
                language.set(code)
                for tab, view in enumerate(("anomalies", "pods", "nodes", "workloads")):
                    await shot(tab, folder / f"main-{view}-{code}.png")
            # By now the crash loop has healed and the node went NotReady: a history.
            await trio.sleep_until(start + 16)
            for code in i18n.LANGUAGES:
                language.set(code)
                await shot(
                    window.tabs.indexOf(window.history_view), folder / f"main-history-{code}.png"
                )
            window.tabs.setCurrentWidget(window.metrics_view)
            await trio.sleep(2.5)  # the first query after the tab is shown
            for code in i18n.LANGUAGES:
                language.set(code)
                await shot(
                    window.tabs.indexOf(window.metrics_view), folder / f"main-metrics-{code}.png"
                )
            window.alerts_view.pages.setCurrentIndex(3)  # what was sent, and to where
            for code in i18n.LANGUAGES:
                language.set(code)
                await shot(
                    window.tabs.indexOf(window.alerts_view), folder / f"main-alerts-{code}.png"
                )
            # The overview of every cluster (its history is read once the tab is shown).
            overview = window.views["overview"]
            window.tabs.setCurrentWidget(overview)
            overview.all_box.setChecked(True)  # type: ignore[attr-defined]
            await trio.sleep(1.5)
            for code in i18n.LANGUAGES:
                language.set(code)
                await shot(window.tabs.indexOf(overview), folder / f"main-overview-{code}.png")
            # The demo shop's SLOs (its objectives, its routes, the cart's burn).
            overview.all_box.setChecked(False)  # type: ignore[attr-defined]
            slo = window.views["slo"]
            window.tabs.setCurrentWidget(slo)
            await trio.sleep(1.0)
            slo.reload()  # type: ignore[attr-defined]
            await trio.sleep(2.0)
            for code in i18n.LANGUAGES:
                language.set(code)
                await shot(window.tabs.indexOf(slo), folder / f"main-slo-{code}.png")
            # Every view in English in the light theme (the main ones are above in every
            # language too), then once more in the dark theme.
            language.set("en")
            window.views["resources"].pages.setCurrentIndex(1)  # type: ignore[attr-defined]
            keys = ["anomalies", "pods", "nodes", "workloads", *window.views]
            for tab, key in enumerate(keys):
                await shot(tab, folder / f"main-{key}-en.png")
            theme.set("dark")
            for tab, key in enumerate(keys):
                await shot(tab, folder / f"main-{key}-en-dark.png")
            # A node's page and a pod's page of the first cluster: its busiest node, and
            # the pod that restarted most (its restart history).
            from desktop.builtin_views import open_node_details, open_pod_details
            from headless_agent.state.records import PodRecord

            assert window.context is not None
            handle = next(iter(hub.clusters.values()))
            pods = [p for p in handle.state.records("Pod") if isinstance(p, PodRecord)]
            nodes = [p.node for p in pods if p.node]
            busiest = max(set(nodes), key=nodes.count)
            node_page = open_node_details(window.context, busiest, handle.name)
            restarted = max(pods, key=lambda p: p.restart_count)
            pod_page = open_pod_details(
                window.context, restarted.namespace, restarted.name, handle.name
            )
            assert node_page is not None and pod_page is not None
            await trio.sleep(2)  # the history read in the background
            for dialog, name in ((node_page, "node-detail-en-dark"),):
                dialog.grab().save(str(folder / f"{name}.png"))
                written.append(folder / f"{name}.png")
            theme.set("light")
            await trio.sleep(0.3)
            pod_page.tabs.setCurrentIndex(3)
            for dialog, name in ((node_page, "node-detail-en"), (pod_page, "pod-detail-en")):
                dialog.grab().save(str(folder / f"{name}.png"))
                written.append(folder / f"{name}.png")
            pod_page.close()
            node_page.close()
            # A Deployment's page: the prod cluster's crash-looping checkout and its pods.
            from desktop.builtin_views import open_workload_details

            prod = next(name for name in hub.clusters if "prod" in name)
            workload_page = open_workload_details(
                window.context, "Deployment", "shop", "checkout", prod
            )
            assert workload_page is not None
            await trio.sleep(1)  # the history read in the background
            workload_page.grab().save(str(folder / "workload-detail-en.png"))
            written.append(folder / "workload-detail-en.png")
            workload_page.close()
            theme.set("light")
            window.close()
            nursery.cancel_scope.cancel()

    collector = GuiThreadCollector(app)
    guest.start(shoot)
    app.exec()
    collector.stop()
    shiboken6.delete(window)  # in Qt's order, before PySide's exit-time cleanup
    for path in written:
        print(path)
    return 1 if guest.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
