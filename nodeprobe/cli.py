"""`nodeprobe`: the per-node collector's entry point.

Collects every interval on the main thread; pushes from a thread of its own (so a slow
agent never delays a collection) and serves ``/metrics`` from prometheus_client's
server thread. SIGTERM or SIGINT stops it: the buffered samples get one more chance to
reach the agent, then it exits 0. A bad setting exits 2 with one line naming it.

The ``/metrics`` server (prometheus_client, about 8 MiB of the probe's memory with
what it imports) and the push client are imported only when configured.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import IO, TYPE_CHECKING

from nodeprobe import __version__, wire
from nodeprobe.collectors import ALL, Host
from nodeprobe.config import Config, ConfigError, load_config
from nodeprobe.registry import Registry

if TYPE_CHECKING:  # imported at run time only when configured (see above)
    from nodeprobe.exposition import LatestSample, MetricsServer
    from nodeprobe.push import Pusher

log = logging.getLogger("nodeprobe")


def build_registry(config: Config) -> Registry:
    host = Host(procfs=config.procfs, sysfs=config.sysfs, rootfs=config.rootfs)
    return Registry([ALL[name] for name in config.collectors], host, config.options)


def print_once(
    registry: Registry,
    config: Config,
    *,
    pause: float = 1.0,
    out: IO[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Collect twice ``pause`` seconds apart and print the second as a batch (JSON)."""
    registry.collect()
    sleep(pause)
    sample = registry.collect()
    batch = wire.encode_batch(
        node=config.node_name,
        probe_version=__version__,
        fields=registry.fields,
        samples=[sample],
        disabled=registry.disabled,
        sent_at=time.time(),
    )
    print(json.dumps(json.loads(batch), indent=2), file=out or sys.stdout)
    return 0


def _start_pusher(config: Config, registry: Registry) -> Pusher | None:
    if not config.agent_url:
        return None
    from nodeprobe.push import Pusher, token_from_file

    static_token = config.token or ""
    pusher = Pusher(
        url=config.agent_url,
        node=config.node_name,
        fields=registry.fields,
        token=token_from_file(config.token_file) if config.token_file else lambda: static_token,
        buffer_batches=config.buffer_batches,
        timeout=min(10.0, max(2.0, config.interval)),
        ca_file=config.ca_file,
    )
    pusher.start()
    return pusher


def _start_metrics(
    config: Config, registry: Registry, pusher: Pusher | None
) -> tuple[MetricsServer, LatestSample] | None:
    if not config.listen:
        return None
    from nodeprobe import exposition

    latest = exposition.LatestSample()
    collector = exposition.SampleCollector(
        latest, registry.fields, registry.names, pusher.stats if pusher else None
    )
    host, port = config.listen
    server = exposition.MetricsServer(exposition.build_registry(collector), host, port)
    log.info("serving /metrics on %s:%d", host, server.port)
    return server, latest


def serve(registry: Registry, config: Config, *, stop: threading.Event | None = None) -> int:
    """Collect every interval, push and serve until ``stop`` is set (or a signal arrives)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def on_signal(number: int, _frame: FrameType | None) -> None:
            log.info("%s received; stopping", signal.Signals(number).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    log.info(
        "nodeprobe %s on node %s: %s every %g s; %s",
        __version__,
        config.node_name,
        ", ".join(registry.names),
        config.interval,
        f"pushing to {config.agent_url}" if config.agent_url else "not pushing",
    )
    pusher = _start_pusher(config, registry)
    metrics = None
    collections = 0
    try:
        metrics = _start_metrics(config, registry, pusher)
        next_at = time.monotonic()
        while not stop.is_set():
            started = time.monotonic()
            sample = registry.collect()
            collections += 1
            if metrics is not None:
                metrics[1].publish(
                    sample,
                    collections=collections,
                    duration=time.monotonic() - started,
                    collector_seconds=dict(registry.durations),
                    disabled=registry.disabled,
                )
            if pusher is not None:
                pusher.submit(sample, registry.disabled)
            now = time.monotonic()
            next_at += config.interval
            if next_at <= now:  # the collection overran its interval: skip the missed ticks
                next_at = now + config.interval
            stop.wait(next_at - now)
    finally:
        if pusher is not None:
            pusher.close()
        if metrics is not None:
            metrics[0].close()
    log.info("stopped after %d collections", collections)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        config = load_config(argv, os.environ)
    except ConfigError as error:
        print(f"nodeprobe: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    registry = build_registry(config)
    if config.once:
        return print_once(registry, config)
    return serve(registry, config)
