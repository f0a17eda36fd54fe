"""Console entry points of the engine: headless mode and the in-cluster agent.

Headless mode today watches contexts (or the demo fleet), keeps the history file, and
writes every anomaly transition and connection-state change as one JSON line on stdout —
the same engine as the desktop, for a jump host or a terminal. Alert channels come with
the alerting work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from datetime import datetime
from typing import Any, TextIO

import trio

from headless_agent import __version__
from headless_agent.agent.client import add_source_options, agents_from_options
from headless_agent.alerts import Alerting
from headless_agent.alerts.config import ConfigProblems, load_config, parse_duration
from headless_agent.detect.anomaly import Transition
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.health import HealthSnapshot
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.ops.runner import local_user
from headless_agent.status_server import StatusServer
from headless_agent.store import Silence, StoreOpenError
from headless_agent.store.session import open_session_history


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


class _Output:
    """JSON lines on a stream; when the reader goes away (`| head`), stop quietly."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.stop = trio.CancelScope()

    def emit(self, record: dict[str, Any]) -> None:
        if self.stop.cancel_called:
            return
        try:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            self.stop.cancel()


def transition_record(cluster: str, transition: Transition, language: str) -> dict[str, Any]:
    anomaly = transition.anomaly
    key = anomaly.key
    return {
        "time": time.time(),
        "event": f"anomaly-{transition.type.value}",
        "cluster": cluster,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "reason": key.reason,
        "severity": anomaly.severity.label,
        "count": anomaly.count,
        "members": list(anomaly.members),
        "first_seen": anomaly.first_seen,
        "message": anomaly.text(language),
    }


def health_record(cluster: str, snapshot: HealthSnapshot) -> dict[str, Any]:
    return {
        "time": time.time(),
        "event": "cluster-state",
        "cluster": cluster,
        "state": snapshot.state.value,
        "error": snapshot.last_error,
        "hidden": list(snapshot.hidden),
    }


_MATCHERS = ("cluster", "namespace", "name", "reason")


def _silences(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``--silence`` and ``--silences``: they only touch the history file."""
    try:
        store = open_session_history(args.history)
    except StoreOpenError as error:
        print(f"atlhyper-headless: {error}", file=sys.stderr)
        return 2
    store.start()
    try:
        now = time.time()
        if args.silence:
            matchers: dict[str, str] = {}
            for part in args.silence.split(","):
                key, _, value = part.partition("=")
                if key.strip() not in _MATCHERS or not value.strip():
                    parser.error(f"--silence: {part!r}: use {', '.join(_MATCHERS)} as NAME=VALUE")
                matchers[key.strip()] = value.strip()
            if not args.silence_for:
                parser.error("--silence needs --for DURATION (a silence always ends)")
            try:
                seconds = parse_duration(args.silence_for)
            except ValueError as error:
                parser.error(f"--for: {error}")
            store.add_silence(
                Silence(
                    now,
                    now + seconds,
                    cluster=matchers.get("cluster", ""),
                    namespace=matchers.get("namespace", ""),
                    name=matchers.get("name", ""),
                    reason=matchers.get("reason", ""),
                    created_by=local_user(),
                    comment=args.comment,
                )
            )
            store.flush()
        for silence in store.silences(active_at=now):
            matched = ", ".join(
                f"{k}={getattr(silence, k)}" for k in _MATCHERS if getattr(silence, k)
            )
            until = datetime.fromtimestamp(silence.expires_at).isoformat(timespec="minutes")
            print(f"#{silence.id} {matched or 'everything'} until {until} "
                  f"({silence.created_by}) {silence.comment}".rstrip())  # fmt: skip
    finally:
        store.close()
    return 0


def headless_main(argv: list[str] | None = None) -> int:
    """`atlhyper-headless`: the engine without a window, for a jump host."""
    parser = _parser("atlhyper-headless", "Watch clusters without a window.")
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME",
        help="kubeconfig context to watch (repeatable; default: current)",
    )
    parser.add_argument("--all-contexts", action="store_true", help="watch every context")
    parser.add_argument("--demo", action="store_true", help="watch the built-in demo fleet")
    parser.add_argument(
        "--demo-speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="play the demo fleet's incidents this many times faster",
    )
    parser.add_argument(
        "--extra-path",
        action="append",
        default=[],
        metavar="DIR",
        help="extra folder to search for exec credential plugins",
    )
    parser.add_argument(
        "--language",
        default="en",
        choices=("en", "zh", "ja"),
        help="language of the messages (default: en)",
    )
    add_source_options(parser)
    parser.add_argument(
        "--alerts", metavar="TOML", help="alert rules and channels (see docs/ALERTS.md)"
    )
    parser.add_argument(
        "--check", action="store_true", help="check the --alerts file, report every mistake, exit"
    )
    parser.add_argument(
        "--silence",
        metavar="MATCHERS",
        help="add a silence and exit: cluster=NAME,namespace=NS,name=OBJECT,reason=REASON "
        "(any of them; with --for)",
    )
    parser.add_argument("--for", dest="silence_for", metavar="DURATION", help="e.g. 2h")
    parser.add_argument("--comment", default="", help="why (kept with the silence)")
    parser.add_argument("--silences", action="store_true", help="list active silences and exit")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve /healthz and /metrics there (e.g. 127.0.0.1:9475); default: not at all",
    )
    args = parser.parse_args(argv)
    alert_config = None
    if args.alerts:
        try:
            alert_config = load_config(args.alerts)
        except ConfigProblems as error:
            print(f"atlhyper-headless: {error}", file=sys.stderr)
            return 2
        if args.check:
            rules, channels = len(alert_config.rules), len(alert_config.channels)
            print(f"{args.alerts}: OK ({rules} rules, {channels} channels)")
            return 0
    elif args.check:
        parser.error("--check needs --alerts FILE")
    if args.silence or args.silences:
        return _silences(parser, args)
    if alert_config is not None and args.no_history:
        parser.error("--alerts needs the history (the outbox lives there): drop --no-history")
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    hub = Hub()
    try:
        agents = agents_from_options(args)
    except ValueError as error:
        parser.error(str(error))
    for name, target in agents:
        hub.watch_agent(name, target)
    wants_contexts = args.context or args.all_contexts or not agents
    if args.demo:
        hub.watch_demo(speed=args.demo_speed)
    elif wants_contexts:
        kubeconfigs = load_kubeconfigs()
        for problem in kubeconfigs.problems:
            print(f"atlhyper-headless: {problem}", file=sys.stderr)
        if args.all_contexts:
            contexts = sorted(kubeconfigs.contexts)
        else:
            current = [kubeconfigs.current_context] if kubeconfigs.current_context else []
            contexts = args.context or current
        unknown = [c for c in contexts if c not in kubeconfigs.contexts]
        if unknown or not contexts:
            known = ", ".join(sorted(kubeconfigs.contexts)) or "none"
            what = f"unknown context(s): {', '.join(unknown)}" if unknown else "no context"
            parser.error(f"{what} in {kubeconfigs.describe_files()} (known: {known})")
        for context in contexts:
            hub.watch_context(KubeTarget(kubeconfigs, context, extra_path=args.extra_path))
    if not args.no_history:
        try:
            hub.history = open_session_history(args.history, demo=args.demo)
        except StoreOpenError as error:
            print(f"atlhyper-headless: {error}", file=sys.stderr)
            return 2
    alerting = None
    if alert_config is not None and hub.history is not None:
        alerting = Alerting(alert_config, hub.history)
        alerting.attach(hub)
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit():
            parser.error(f"--listen: {args.listen!r} is not HOST:PORT")
        hub.services.append(StatusServer(hub, alerting, args.listen).run)
    out = _Output(sys.stdout)
    hub.transition_listeners.append(
        lambda cluster, t: out.emit(transition_record(cluster, t, args.language))
    )
    hub.health_listeners.append(lambda cluster, s: out.emit(health_record(cluster, s)))

    async def run() -> None:
        with out.stop:
            async with trio.open_nursery() as nursery:
                await nursery.start(hub.run)
                with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()  # stop cleanly on SIGTERM / Ctrl-C
                        return

    trio.run(run)
    return 0
