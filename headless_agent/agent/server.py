"""`atlhyper-agent`: the engine inside a cluster, serving hubs and probes.

Settings come from flags or, for a Deployment, environment variables (``ATLHYPER_AGENT_*``).
The cluster is reached with the pod's service account (or, outside a cluster, a kubeconfig
context); tokens and TLS material come from mounted Secrets. Bad settings stop the agent
at start with a message naming the setting; nothing secret is ever printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from headless_agent import __version__
from headless_agent.agent.api import AgentApi, ApiLimits
from headless_agent.agent.journal import JournalLimits
from headless_agent.agent.relay import Relay, RelayLimits
from headless_agent.agent.tokens import TokenBook, TokenFileError
from headless_agent.hub import Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from headless_agent.ops.runner import Operations
from headless_agent.slo.collector import SloCollector

log = logging.getLogger("atlhyper.agent")

DEFAULT_TOKENS = "/etc/atlhyper/tokens"
DEFAULT_TLS = "/etc/atlhyper/tls"


@dataclass(frozen=True)
class AgentSettings:
    listen: str
    tokens: Path
    context: str | None
    cluster_name: str | None
    tls_cert: Path | None
    tls_key: Path | None
    buffer_hours: float
    read_only: bool = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlhyper-agent",
        description="Collect, buffer and relay a cluster's state and node metrics to hubs.",
    )
    env = os.environ.get
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--listen",
        default=env("ATLHYPER_AGENT_LISTEN", "0.0.0.0:8443"),
        metavar="HOST:PORT",
        help="[ATLHYPER_AGENT_LISTEN] default: 0.0.0.0:8443",
    )
    parser.add_argument(
        "--tokens",
        default=env("ATLHYPER_AGENT_TOKENS", DEFAULT_TOKENS),
        metavar="DIR",
        help="[ATLHYPER_AGENT_TOKENS] folder with files viewer, operator, probe "
        f"(one token per line); default: {DEFAULT_TOKENS}",
    )
    parser.add_argument(
        "--context",
        default=env("ATLHYPER_AGENT_CONTEXT"),
        help="[ATLHYPER_AGENT_CONTEXT] kubeconfig context; default: the service account "
        "inside a cluster, else the current context",
    )
    parser.add_argument(
        "--cluster-name",
        default=env("ATLHYPER_CLUSTER_NAME"),
        help="[ATLHYPER_CLUSTER_NAME] how hubs call this cluster; default: the context",
    )
    parser.add_argument(
        "--tls-cert",
        default=env("ATLHYPER_AGENT_TLS_CERT"),
        metavar="PEM",
        help=f"[ATLHYPER_AGENT_TLS_CERT] default: {DEFAULT_TLS}/tls.crt if mounted",
    )
    parser.add_argument(
        "--tls-key",
        default=env("ATLHYPER_AGENT_TLS_KEY"),
        metavar="PEM",
        help=f"[ATLHYPER_AGENT_TLS_KEY] default: {DEFAULT_TLS}/tls.key if mounted",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=env("ATLHYPER_AGENT_READ_ONLY", "") in ("1", "true", "yes"),
        help="[ATLHYPER_AGENT_READ_ONLY] run no commands (pair with the read-only ClusterRole)",
    )
    parser.add_argument(
        "--buffer-hours",
        default=env("ATLHYPER_AGENT_BUFFER_HOURS", "6"),
        metavar="HOURS",
        help="[ATLHYPER_AGENT_BUFFER_HOURS] history kept for hubs that come back; default 6",
    )
    return parser


def settings_from(argv: list[str] | None) -> AgentSettings:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        hours = float(args.buffer_hours)
    except ValueError:
        parser.error(f"--buffer-hours: {args.buffer_hours!r} is not a number")
    if not 0 < hours <= 24 * 7:
        parser.error("--buffer-hours: must be more than 0 and at most 168")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--listen: {args.listen!r} is not HOST:PORT")
    cert, key = args.tls_cert, args.tls_key
    if cert is None and key is None and Path(DEFAULT_TLS, "tls.crt").exists():
        cert, key = f"{DEFAULT_TLS}/tls.crt", f"{DEFAULT_TLS}/tls.key"
    if (cert is None) != (key is None):
        parser.error("--tls-cert and --tls-key go together")
    for path in (cert, key):
        if path is not None and not Path(path).is_file():
            parser.error(f"TLS file {path} does not exist")
    return AgentSettings(
        listen=args.listen,
        tokens=Path(args.tokens),
        context=args.context,
        cluster_name=args.cluster_name,
        tls_cert=Path(cert) if cert else None,
        tls_key=Path(key) if key else None,
        buffer_hours=hours,
        read_only=args.read_only,
    )


def hypercorn_config(settings: AgentSettings) -> Config:
    config = Config()
    config.bind = [settings.listen]
    config.accesslog = None  # requests are counted in /metrics; tokens never logged
    config.errorlog = logging.getLogger("atlhyper.agent.http")
    # A client that sends half a request head and then trickles (slowloris) is still
    # "idle" to the server: it is closed after this, however slowly it writes.
    config.keep_alive_timeout = 15.0
    config.h11_max_incomplete_size = 16 * 1024  # request line and headers
    config.include_server_header = False
    if settings.tls_cert is not None and settings.tls_key is not None:
        config.certfile = str(settings.tls_cert)
        config.keyfile = str(settings.tls_key)
    return config


def agent_main(argv: list[str] | None = None) -> int:
    settings = settings_from(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        tokens = TokenBook.from_folder(settings.tokens)
    except TokenFileError as error:
        print(f"atlhyper-agent: {error}", file=sys.stderr)
        return 2
    kubeconfigs = load_kubeconfigs()
    context = settings.context or kubeconfigs.current_context
    if context is None or context not in kubeconfigs.contexts:
        known = ", ".join(sorted(kubeconfigs.contexts)) or "none"
        print(
            f"atlhyper-agent: no usable cluster access (context {context!r}; known: {known}); "
            "run in a pod with a service account, or pass --context",
            file=sys.stderr,
        )
        return 2
    hub = Hub()
    handle = hub.watch_context(KubeTarget(kubeconfigs, context), name=settings.cluster_name)
    hours = settings.buffer_hours * 3600
    relay = Relay(
        hub,
        handle,
        RelayLimits(
            changes=JournalLimits(max_age=hours),
            samples=JournalLimits(max_age=hours, max_lines=2_000_000, max_bytes=256 * 2**20),
            slo_minutes=JournalLimits(max_age=hours),
        ),
    )
    # The ingress controllers' /metrics, read through the API server with the agent's own
    # service account (``pods/proxy`` ``get``): finished minutes into the relay's buffer.
    SloCollector(relay).attach(hub)
    operations = None
    if not settings.read_only:
        operations = Operations(hub, audit=relay.record_audit, actor="agent")
    api = AgentApi(relay, tokens, ApiLimits(), operations=operations)
    config = hypercorn_config(settings)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            nursery.start_soon(relay.run)
            stop = trio.Event()

            async def on_signal() -> None:
                with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        stop.set()
                        return

            nursery.start_soon(on_signal)
            log.info(
                "serving %s on %s (%s, %s)",
                handle.name,
                settings.listen,
                "TLS" if config.certfile else "plain HTTP",
                tokens,
            )
            await serve(api.app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
            nursery.cancel_scope.cancel()

    trio.run(run)
    return 0
