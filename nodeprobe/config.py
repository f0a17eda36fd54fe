"""The probe's configuration: flags, else environment variables, else defaults.

Every value is checked before anything starts; a bad one stops the probe with a message
naming the flag or variable, the value and what would be accepted. The token is taken
from ``NODEPROBE_TOKEN`` or a file (``NODEPROBE_TOKEN_FILE`` / ``--token-file``), never
from a flag, which other users could read in the process list.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from nodeprobe import __version__
from nodeprobe.collectors import ALL, DEFAULT_NAMES
from nodeprobe.collectors.common import (
    DEFAULT_SKIP_DEVICES,
    DEFAULT_SKIP_FSTYPES,
    DEFAULT_SKIP_INTERFACES,
    DEFAULT_SKIP_MOUNTPOINTS,
    Options,
)

T = TypeVar("T")

DEFAULT_LISTEN = ":9199"
MIN_INTERVAL_SECONDS = 0.1  # below 1 s only makes sense for benchmarks
MAX_INTERVAL_SECONDS = 3600.0
_NODE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A configuration value the probe cannot work with; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Config:
    node_name: str
    agent_url: str | None
    token: str | None
    token_file: str | None
    ca_file: str | None
    interval: float
    procfs: str
    sysfs: str
    rootfs: str
    listen: tuple[str, int] | None
    collectors: tuple[str, ...]
    options: Options
    buffer_batches: int
    log_level: str
    once: bool


# --- value parsers: each raises ValueError with what is wrong ------------------------------


def parse_duration(text: str) -> float:
    """Seconds, with an optional unit: ``15``, ``15s``, ``1.5``, ``500ms``, ``2m``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a duration such as 15, 15s, 500ms or 1m")
    number, unit = float(match.group(1)), match.group(2) or "s"
    seconds = number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise ValueError(
            f"must be between {MIN_INTERVAL_SECONDS} s and {MAX_INTERVAL_SECONDS:.0f} s"
        )
    return seconds


def parse_count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}")
        return number

    return parse


def parse_url(text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("expected an http:// or https:// URL of the agent")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if parts.username or parts.password:
        raise ValueError("put the token in NODEPROBE_TOKEN or a token file, not in the URL")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as error:
        raise ValueError(f"bad port: {error}") from None
    return url


def parse_listen(text: str) -> tuple[str, int] | None:
    """``host:port``, ``:port`` (every IPv4 address), ``[::]:port``; ``off`` or empty: none."""
    value = text.strip()
    if value in ("", "off"):
        return None
    host, separator, port_text = value.rpartition(":")
    if not separator or not port_text.isdigit():
        raise ValueError("expected host:port, :port or [::]:port, or off")
    port = int(port_text)
    if port > 65535:
        raise ValueError("the port must be from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", port


def parse_pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None


def parse_collectors(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in ALL or name == "processes"]
    if unknown:
        raise ValueError(
            f"unknown collector {', '.join(unknown)}; choose from {', '.join(DEFAULT_NAMES)} "
            "(the processes collector is switched on by NODEPROBE_TOP_PROCESSES)"
        )
    if not names:
        raise ValueError("names no collector")
    return names


def parse_node_name(text: str) -> str:
    name = text.strip()
    if not _NODE_NAME.match(name):
        raise ValueError(
            "expected a node name (letters, digits, '-', '.', '_', at most 253 characters)"
        )
    return name


def _directory_with(entry: str, what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        path = text.strip()
        if not os.path.isdir(path):
            raise ValueError("no such directory")
        if entry and not os.path.exists(os.path.join(path, entry)):
            raise ValueError(f"has no {entry}, so it is not {what}")
        return path

    return parse


def parse_readable_file(text: str) -> str:
    path = text.strip()
    try:
        with open(path, "rb") as file:
            if not file.read(1):
                raise ValueError("the file is empty")
    except OSError as error:
        raise ValueError(f"cannot be read: {error.strerror or error}") from None
    return path


def parse_log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


# --- flags and variables --------------------------------------------------------------------


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nodeprobe",
        description=(
            "Per-node metrics collector: pushes samples to the AtlHyper agent and serves "
            "them at /metrics for Prometheus. Every flag has an environment variable; "
            "the flag wins."
        ),
    )
    add = parser.add_argument
    add("--version", action="version", version=f"%(prog)s {__version__}")
    add("--once", action="store_true", help="collect twice a second apart, print the JSON, exit")
    add("--node-name", metavar="NAME", help="[NODE_NAME] default: the host name")
    add("--agent-url", metavar="URL", help="[NODEPROBE_AGENT_URL] where to push; unset: no push")
    add("--token-file", metavar="PATH", help="[NODEPROBE_TOKEN_FILE] or NODEPROBE_TOKEN")
    add("--ca-file", metavar="PATH", help="[NODEPROBE_CA_FILE] CA bundle for an https agent")
    add("--interval", metavar="SECONDS", help="[NODEPROBE_INTERVAL] default: 15s")
    add("--procfs", metavar="DIR", help="[NODEPROBE_PROCFS] the host's /proc; default: /proc")
    add("--sysfs", metavar="DIR", help="[NODEPROBE_SYSFS] the host's /sys; default: /sys")
    add("--rootfs", metavar="DIR", help="[NODEPROBE_ROOTFS] the host's /; default: /")
    add("--listen", metavar="HOST:PORT", help=f"[NODEPROBE_LISTEN] default: {DEFAULT_LISTEN}; off")
    add("--collectors", metavar="LIST", help="[NODEPROBE_COLLECTORS] default: all but processes")
    add("--top-processes", metavar="N", help="[NODEPROBE_TOP_PROCESSES] default: 0 (off)")
    add("--skip-interfaces", metavar="REGEX", help="[NODEPROBE_SKIP_INTERFACES]")
    add("--skip-fstypes", metavar="REGEX", help="[NODEPROBE_SKIP_FSTYPES]")
    add("--skip-mountpoints", metavar="REGEX", help="[NODEPROBE_SKIP_MOUNTPOINTS]")
    add("--skip-devices", metavar="REGEX", help="[NODEPROBE_SKIP_DEVICES]")
    add("--buffer-batches", metavar="N", help="[NODEPROBE_BUFFER_BATCHES] default: 240")
    add("--log-level", metavar="LEVEL", help="[NODEPROBE_LOG_LEVEL] default: info")
    return parser


class _Source:
    """Looks a setting up in the flags, then the environment, then the default."""

    def __init__(self, flags: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self._flags = flags
        self._environ = environ

    def _raw(self, flag: str, variable: str, empty_is_value: bool) -> tuple[str | None, str]:
        raw = getattr(self._flags, flag.lstrip("-").replace("-", "_"), None)
        if raw is not None:
            return raw, flag
        raw = self._environ.get(variable)
        if raw == "" and not empty_is_value:
            raw = None
        return raw, variable

    def optional(self, flag: str, variable: str, parse: Callable[[str], T]) -> T | None:
        """The parsed setting, or None if neither the flag nor the variable is set."""
        raw, source = self._raw(flag, variable, empty_is_value=False)
        return None if raw is None else self._parse(parse, raw, source)

    def value(
        self,
        flag: str,
        variable: str,
        parse: Callable[[str], T],
        default: str,
        *,
        empty_is_value: bool = False,
    ) -> T:
        """The parsed setting, or the parsed default."""
        raw, source = self._raw(flag, variable, empty_is_value)
        if raw is None:
            raw, source = default, f"the default of {flag}"
        return self._parse(parse, raw, source)

    @staticmethod
    def _parse(parse: Callable[[str], T], raw: str, source: str) -> T:
        try:
            return parse(raw)
        except ValueError as problem:
            raise ConfigError(f"{source}={raw!r}: {problem}") from None


def load_config(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Config:
    """Parse flags (``argv``, without the program name) and variables into a `Config`.

    Raises:
        ConfigError: naming the first bad flag or variable, its value and the rule.
        SystemExit: for ``--help``, ``--version`` and flags argparse does not know.
    """
    flags = _arguments().parse_args(argv)
    source = _Source(flags, environ)
    optional, value = source.optional, source.value

    node_name = optional("--node-name", "NODE_NAME", parse_node_name)
    if node_name is None:
        try:
            node_name = parse_node_name(socket.gethostname())
        except ValueError:
            raise ConfigError(
                f"NODE_NAME is not set and the host name {socket.gethostname()!r} is not a "
                "usable node name; set NODE_NAME (in a pod: from spec.nodeName)"
            ) from None

    agent_url = optional("--agent-url", "NODEPROBE_AGENT_URL", parse_url)
    token = environ.get("NODEPROBE_TOKEN") or None
    token_file = optional("--token-file", "NODEPROBE_TOKEN_FILE", parse_readable_file)
    if token and token_file:
        raise ConfigError("both NODEPROBE_TOKEN and a token file are set; set only one")
    if agent_url and not (token or token_file or flags.once):
        raise ConfigError(
            "NODEPROBE_AGENT_URL is set but there is no token: set NODEPROBE_TOKEN or "
            "NODEPROBE_TOKEN_FILE (in a pod: a Secret mounted as a file)"
        )

    listen = value(
        "--listen", "NODEPROBE_LISTEN", parse_listen, DEFAULT_LISTEN, empty_is_value=True
    )
    if not (agent_url or listen or flags.once):
        raise ConfigError(
            "nothing to do: NODEPROBE_AGENT_URL is not set and NODEPROBE_LISTEN is off; "
            "set one of them (or use --once)"
        )

    top = value("--top-processes", "NODEPROBE_TOP_PROCESSES", parse_count(0, 100), "0")
    collectors = value(
        "--collectors", "NODEPROBE_COLLECTORS", parse_collectors, ",".join(DEFAULT_NAMES)
    )
    if top:
        collectors = (*collectors, "processes")
    options = Options(
        top_processes=top,
        skip_interfaces=value(
            "--skip-interfaces", "NODEPROBE_SKIP_INTERFACES", parse_pattern, DEFAULT_SKIP_INTERFACES
        ),
        skip_fstypes=value(
            "--skip-fstypes", "NODEPROBE_SKIP_FSTYPES", parse_pattern, DEFAULT_SKIP_FSTYPES
        ),
        skip_mountpoints=value(
            "--skip-mountpoints",
            "NODEPROBE_SKIP_MOUNTPOINTS",
            parse_pattern,
            DEFAULT_SKIP_MOUNTPOINTS,
        ),
        skip_devices=value(
            "--skip-devices", "NODEPROBE_SKIP_DEVICES", parse_pattern, DEFAULT_SKIP_DEVICES
        ),
    )
    return Config(
        node_name=node_name,
        agent_url=agent_url,
        token=token,
        token_file=token_file,
        ca_file=optional("--ca-file", "NODEPROBE_CA_FILE", parse_readable_file),
        interval=value("--interval", "NODEPROBE_INTERVAL", parse_duration, "15"),
        procfs=value("--procfs", "NODEPROBE_PROCFS", _directory_with("stat", "a procfs"), "/proc"),
        sysfs=value("--sysfs", "NODEPROBE_SYSFS", _directory_with("", "a sysfs"), "/sys"),
        rootfs=value("--rootfs", "NODEPROBE_ROOTFS", _directory_with("", "a root"), "/"),
        listen=listen,
        collectors=collectors,
        options=options,
        buffer_batches=value(
            "--buffer-batches", "NODEPROBE_BUFFER_BATCHES", parse_count(1, 100_000), "240"
        ),
        log_level=value("--log-level", "NODEPROBE_LOG_LEVEL", parse_log_level, "info"),
        once=bool(flags.once),
    )
