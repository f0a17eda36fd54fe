"""Entry point of the desktop app: Qt application, trio guest run, engine, main window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import shiboken6
import trio
from PySide6.QtWidgets import QApplication

from desktop.alert_setup import open_alerts
from desktop.gui_gc import GuiThreadCollector
from desktop.language import Language
from desktop.main_window import MainWindow
from desktop.preferences import Preferences
from desktop.preferences import default_path as default_preferences_path
from desktop.theme import Theme
from desktop.trio_guest import TrioGuest
from desktop.welcome_dialog import WelcomeDialog
from headless_agent import i18n
from headless_agent.agent.client import (
    AgentTarget,
    add_source_options,
    agents_from_options,
    read_token_file,
)
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import KubeconfigSet, kubeconfig_paths, load_kubeconfigs
from headless_agent.store import StoreOpenError
from headless_agent.store.session import open_session_history


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atlhyper", description="AtlHyper desktop console")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo fleet")
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME",
        help="kubeconfig context to watch (repeatable; default: the current context)",
    )
    parser.add_argument(
        "--extra-path",
        action="append",
        default=[],
        metavar="DIR",
        help="extra folder to search for exec credential plugins (repeatable)",
    )
    parser.add_argument(
        "--language",
        choices=i18n.LANGUAGES,
        help="UI language (default: the system's, if it is one of these)",
    )
    parser.add_argument(
        "--demo-speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="play the demo fleet's incidents this many times faster",
    )
    parser.add_argument(
        "--quit-after",
        type=float,
        metavar="SECONDS",
        help="close the window after this many seconds (smoke tests, screenshots)",
    )
    parser.add_argument("--screenshot", metavar="PNG", help="grab the window to this file on quit")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="render every view on the demo fleet offscreen; exit 0, or name what failed",
    )
    add_source_options(parser)
    parser.add_argument(
        "--alerts",
        metavar="TOML",
        help="alert rules and channels (default: alerts.toml in the user's config folder)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="make no changes to any cluster (views only)"
    )
    return parser


def add_clusters(
    hub: Hub,
    args: argparse.Namespace,
    kubeconfigs: KubeconfigSet,
    saved_agents: list[tuple[str, AgentTarget]] = [],  # noqa: B006 (read only)
) -> None:
    """Watch the requested agents and contexts, the current context, the agents added in
    the app before, or — with neither a kubeconfig nor an agent — the demo."""
    for name, target in agents_from_options(args):
        hub.watch_agent(name, target)
    if args.agent and not args.context and not args.demo:
        return
    if not args.demo:
        for name, target in saved_agents:
            if name not in hub.clusters:
                hub.watch_agent(name, target)
    contexts = args.context or (
        [kubeconfigs.current_context] if kubeconfigs.current_context else []
    )
    if args.demo or (not kubeconfigs.contexts and not saved_agents):
        hub.watch_demo(speed=args.demo_speed)
        return
    if not kubeconfigs.contexts:
        return
    if not contexts:
        contexts = sorted(kubeconfigs.contexts)[:1]
    for context in contexts:
        hub.watch_context(KubeTarget(kubeconfigs, context, extra_path=args.extra_path))


async def open_history(hub: Hub, setting: str | None) -> str | None:
    """Give the hub its history file (a throwaway one for the demo fleet); return why
    there is none if the file cannot be used — the live views work regardless."""
    demo = any(handle.is_demo for handle in hub.clusters.values())
    try:
        # Opening checks the file: off the UI thread, so the window paints meanwhile.
        hub.history = await trio.to_thread.run_sync(
            lambda: open_session_history(setting, demo=demo)
        )
    except StoreOpenError as error:
        return str(error)
    return None


def saved_agents(preferences: Preferences) -> list[tuple[str, AgentTarget]]:
    """The agents added in the app (their tokens from their private files); one whose
    token file is gone is skipped with a word on stderr."""
    found = []
    for agent in preferences.agents:
        try:
            token = read_token_file(agent.get("token_file", ""))
        except ValueError as error:
            print(f"atlhyper: agent {agent.get('name')!r} skipped: {error}", file=sys.stderr)
            continue
        target = AgentTarget(agent["url"], token, ca_file=agent.get("ca_file") or None)
        found.append((agent["name"], target))
    return found


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        from desktop.self_test import run_self_test

        return run_self_test(args.language)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AtlHyper")
    app.setOrganizationName("AtlHyper")
    # Qt must not quit before trio has finished: the guest run's done callback quits it.
    app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    preferences = Preferences(default_preferences_path())
    hub = Hub()
    added = [Path(f) for f in preferences.kubeconfig_files if Path(f).exists()]
    kubeconfigs = load_kubeconfigs([*kubeconfig_paths(), *added])
    agents = saved_agents(preferences)
    args.extra_path = [*args.extra_path, *preferences.extra_path]
    try:
        add_clusters(hub, args, kubeconfigs, agents)
    except ValueError as error:  # a malformed --agent or a missing token
        print(f"atlhyper: {error}", file=sys.stderr)
        return 2
    first_run = not kubeconfigs.contexts and not agents and not args.agent and not args.demo
    theme = Theme(app, preferences.theme)
    language = Language(args.language or preferences.language)
    window = MainWindow(language, preferences=preferences, theme=theme)
    guest = TrioGuest(app)
    window.close_requested.connect(guest.cancel)

    async def engine() -> None:
        problem = None if args.no_history else await open_history(hub, args.history)
        alerts = open_alerts(hub, args.alerts, window.notify)
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            window.attach(
                hub, nursery, history_problem=problem, read_only=args.read_only, alerts=alerts
            )
            if not args.demo:
                window.offer_contexts(kubeconfigs, args.extra_path)
            if first_run and args.quit_after is None:
                # No kubeconfig: the demo runs behind a welcome that offers the rest.
                window.welcome = WelcomeDialog(language, preferences, hub, nursery, window)
                window.welcome.open()
            if args.quit_after is not None:
                await trio.sleep(args.quit_after)
                if args.screenshot:
                    window.grab().save(args.screenshot)
                window.close()
                nursery.cancel_scope.cancel()

    collector = GuiThreadCollector(app)
    window.show()
    guest.start(engine)
    app.exec()
    collector.stop()
    # Delete the window (and with it every view, model and timer it owns) now, in Qt's
    # order; PySide's exit-time cleanup otherwise visits them half-destroyed and crashes.
    shiboken6.delete(window)
    return 1 if guest.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
