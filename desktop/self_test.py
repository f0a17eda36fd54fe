"""``atlhyper --self-test``: is this installation (a bundle above all) complete and working?

Starts the engine on the demo fleet with a throwaway history, shows the main window, waits
for its first paint and for the demo's pods to arrive, then shows every tab of the window
in turn and renders it. Prints one line per check and exits 0 when all passed, or 1 naming
what failed. Needs no cluster, no display (the offscreen platform is the default here) and
touches none of the user's files.

What it catches in a bundle: a missing Qt platform plugin or library (Qt aborts, or the
window does not paint), missing message catalogs (texts show as message ids), a module the
bundler left out (an import error in the engine or in a view), a view that fails to paint.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cmp_to_key
from pathlib import Path

import shiboken6
import trio
from PySide6.QtCore import (
    QCollator,
    QEvent,
    QLocale,
    QObject,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

#: The whole self-test must finish within this many seconds (a hung view fails it).
TIME_LIMIT = 60.0
#: A rendered view shows text and frames: at least this many colours in a sample of pixels.
MIN_COLOURS = 3


class _FirstPaint(QObject):
    """Calls back once, at the first paint event of the widget it filters."""

    def __init__(self, on_paint: Callable[[], None]) -> None:
        super().__init__()
        self._on_paint: Callable[[], None] | None = on_paint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._on_paint is not None:
            on_paint, self._on_paint = self._on_paint, None
            on_paint()
        return False


def _say(line: str) -> None:
    # A windowed Windows build has no console: sys.stdout is None there.
    if sys.stdout is not None:
        print(line, flush=True)


def _colours(image: QImage) -> int:
    step = 11
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def run_self_test(language: str | None = None) -> int:
    """Run the checks; 0 if every one passed, 1 otherwise."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Imported here so that `--help` and argument errors stay fast, and so that an import
    # the bundler left out is reported as a failed check, not a traceback.
    failures: list[str] = []
    try:
        from desktop.alert_setup import open_alerts
        from desktop.app import open_history
        from desktop.language import Language
        from desktop.main_window import MainWindow
        from desktop.trio_guest import TrioGuest
        from headless_agent import i18n
        from headless_agent.hub import Hub
    except ImportError as error:
        return _report([f"cannot import {error.name}: {error}"])

    qt_errors: list[str] = []

    def on_qt_message(kind: QtMsgType, _context: object, message: str) -> None:
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            qt_errors.append(message)

    previous_handler = qInstallMessageHandler(on_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    _say(f"self-test: Qt platform {QApplication.platformName()}")

    for code in i18n.LANGUAGES:
        catalog = i18n.catalog_path(code)
        translated = i18n.message(code, "tab.pods") if catalog.is_file() else None
        if translated in (None, "tab.pods"):
            failures.append(f"message catalog {code}: missing or empty ({catalog})")
    if failures:  # the window cannot be built without them
        return _report(failures)
    _say(f"self-test: message catalogs {', '.join(i18n.LANGUAGES)}")
    # Qt's ICU data (trimmed in the bundle) still sorts Chinese by pinyin.
    collator = QCollator(QLocale("zh_CN"))
    cities = sorted(["上海", "北京", "广州"], key=cmp_to_key(collator.compare))
    if cities != ["北京", "广州", "上海"]:
        failures.append(f"ICU collation for zh: {cities} is not in pinyin order")
    else:
        _say("self-test: ICU collation for zh")

    failures.extend(_bundled_native_modules_import())
    try:
        window = MainWindow(Language(language))
    except Exception as error:  # whatever it is, it is this installation's fault
        return _report([f"main window: {type(error).__name__}: {error}"])
    guest = TrioGuest(app)
    window.close_requested.connect(guest.cancel)
    painted = trio.Event()

    def on_first_paint() -> None:
        # Wall-clock time, so a launcher outside the process can take its own start off it.
        _say(f"self-test: first paint at {time.time():.3f}")
        painted.set()

    first_paint = _FirstPaint(on_first_paint)
    window.installEventFilter(first_paint)
    hub = Hub()
    hub.watch_demo(speed=4)
    rendered: list[str] = []

    async def check_views() -> None:
        problem = await open_history(hub, None)  # the demo's throwaway history file
        if problem:
            failures.append(f"history: {problem}")
        # The built-in alert settings (a file that does not exist), never the user's own.
        settings = Path(tempfile.gettempdir()) / f"atlhyper-self-test-{os.getpid()}" / "alerts.toml"
        alerts = open_alerts(hub, str(settings), window.notify)
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            window.attach(hub, nursery, history_problem=problem, alerts=alerts)
            with trio.move_on_after(10) as waited:
                await painted.wait()
            if waited.cancelled_caught:
                failures.append("main window: never painted")
            with trio.move_on_after(15) as waited:
                for handle in hub.clusters.values():
                    await handle.first_sync.wait()
            pods = sum(h.state.count("Pod") for h in hub.clusters.values())
            if waited.cancelled_caught or not pods:
                failures.append("engine: the demo fleet did not sync")
            else:
                clusters = len(hub.clusters)
                _say(f"self-test: engine on the demo fleet ({clusters} clusters, {pods} pods)")
            tabs = window.tabs
            for index in range(tabs.count()):
                tabs.setCurrentIndex(index)
                await trio.sleep(0.25)  # let the view fill and lay out
                name = tabs.tabText(index) or f"tab {index}"
                page = tabs.widget(index)
                image = window.grab().toImage()
                if image.isNull() or image.width() < 400 or _colours(image) < MIN_COLOURS:
                    failures.append(f"view {index} ({name}): did not render")
                elif page is None or not page.isVisible():
                    failures.append(f"view {index} ({name}): not shown")
                else:
                    rendered.append(name)
                    _say(f"self-test: view {index} rendered ({name})")
            window.close()
            nursery.cancel_scope.cancel()

    async def bounded() -> None:
        with trio.move_on_after(TIME_LIMIT) as scope:
            await check_views()
        if scope.cancelled_caught:
            failures.append(f"did not finish within {TIME_LIMIT:.0f} s")
            window.close()

    window.show()
    from desktop.gui_gc import GuiThreadCollector

    collector = GuiThreadCollector(app)
    guest.start(bounded)
    app.exec()
    collector.stop()
    shiboken6.delete(window)  # in Qt's order, before PySide's exit-time cleanup
    qInstallMessageHandler(previous_handler)
    if guest.error is not None:
        failures.append(f"engine or view raised {type(guest.error).__name__}: {guest.error}")
    failures.extend(f"Qt reported: {message}" for message in qt_errors)
    if failures:
        return _report(failures)
    _say(f"self-test passed: {len(rendered)} views rendered")
    return 0


def _bundled_native_modules_import() -> list[str]:
    """In a bundle, import every compiled module it carries. The build strips their symbols
    and leaves libraries out; a module that only a rare path loads (the keyring's Secret
    Service backend, YAML's C loader) would otherwise fail in a user's hands, not here."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or bundle is None:
        return []
    failures, count = [], 0
    for path in sorted(Path(bundle).rglob("*")):
        name = path.name
        if not (".cpython-" in name or ".abi3." in name) or path.suffix not in (".so", ".pyd"):
            continue
        relative = path.relative_to(bundle)
        parts = relative.parts[:-1] if "lib-dynload" not in relative.parts else ()
        module = ".".join([*parts, name.split(".", 1)[0]])
        try:
            importlib.import_module(module)
        except Exception as error:  # whatever it is, the bundle is broken
            failures.append(f"native module {module}: {type(error).__name__}: {error}")
        count += 1
    if not failures:
        _say(f"self-test: {count} native modules of the bundle import")
    return failures


def _report(failures: list[str]) -> int:
    for failure in failures:
        _say(f"self-test FAILED: {failure}")
    return 1
