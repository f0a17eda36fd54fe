"""The alerting settings: a TOML file for headless mode (the desktop edits the same).

::

    [grouping]               # defaults shown
    group_wait = "30s"       # wait this long for more of a group before the first message
    group_interval = "5m"    # at most one update per group this often
    repeat_interval = "4h"   # say it again while it lasts
    by = ["cluster", "owner"]

    [health]
    unreachable_after = "1m" # a cluster offline this long is an alert (ClusterUnreachable)

    [[channels]]
    name = "ops-mail"
    type = "smtp"            # smtp | webhook | slack | alertmanager | desktop
    language = "en"          # en | zh | ja
    host = "smtp.example.com"
    port = 587
    security = "starttls"    # starttls | tls | plain
    username = "alerts"
    password_env = "ATLHYPER_SMTP_PASSWORD"   # or password_file, or password_keyring; never
                                              # the password itself
    sender = "atlhyper@example.com"
    to = ["oncall@example.com"]

    [[channels]]
    name = "hook"
    type = "webhook"
    url = "https://hooks.example.com/atlhyper"
    secret_env = "ATLHYPER_WEBHOOK_SECRET"     # HMAC-SHA256 of the body, X-AtlHyper-Signature

    [[rules]]
    name = "critical"
    channels = ["ops-mail", "hook"]
    severity = "critical"    # the least severe that matches: warning | critical
    reasons = []             # empty: any; else e.g. ["CrashLoopBackOff", "OOMKilled"]
    clusters = []
    namespaces = []
    resolved = true          # also say when it is over

    [[rules]]                # a rule on node metrics raises alerts of its own
    name = "node-pressure"
    channels = ["hook"]
    metric = "cpu"           # cpu | memory | disk (percent used; disk: per filesystem)
    above = 90               # percent
    for = "5m"               # held that long without a break (default 5m; at most 1d)

    [[rules]]
    name = "disk-filling"
    channels = ["ops-mail"]
    metric = "disk"
    full_within = "24h"      # a linear fit over the stored trend says: full within 24 h
    trend = "6h"             # the fit's window (default 6h, at least 10m, at most 7d)
    above = 50               # optional with full_within: only once this full
    mountpoints = ["/", "/var/lib/*"]   # disk only; shell patterns; empty or left out: all
    severity = "critical"    # its alerts' severity: warning by default, critical for
                             # full_within (also, as for every rule, the least it hears)

    [[slos]]                 # an objective per Ingress host (and path): burn-rate alerts
    name = "shop-checkout"   # SLOErrorBudgetBurn, SLOLatencyBudgetBurn, SLONoData
    host = "shop.example.com"
    path = "/checkout"
    availability = 99.9      # see headless_agent.slo.objectives for every key

A node-metric rule raises ``NodeCPUHigh``, ``NodeMemoryHigh``, ``NodeDiskHigh`` or (with
``full_within``) ``NodeDiskFillingUp``, kind ``Node``; those are its ``reasons`` (so it
takes no ``reasons`` and no ``namespaces`` of its own), and other rules match them like
any reason. ``clusters`` limits where it looks. See ``alerts.node_metrics``.

``load_config`` reports *every* mistake, each with its line, and never echoes a secret.
Secrets come from the OS keyring, an environment variable or a file readable only by the
user (``_keyring`` — the service name, the user being the channel's ``username`` or else
its name —, ``_env`` and ``_file`` keys); a secret written in the file in clear is refused.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring
import keyring.errors

from headless_agent import i18n
from headless_agent.detect.anomaly import Severity
from headless_agent.slo.controllers import FORMATS as CONTROLLER_FORMATS
from headless_agent.slo.objectives import Objective, parse_objective
from headless_agent.slo.scraping import ControllerSelector

#: ``desktop``: a notification from the desktop app's tray (headless mode has no desktop
#: and leaves such channels out)
CHANNEL_TYPES = ("smtp", "webhook", "slack", "alertmanager", "desktop")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_SECRET_KEYS = {
    "smtp": ("password",),
    "webhook": ("secret",),
    "slack": ("url",),
    "alertmanager": (),
    "desktop": (),
}


class ConfigProblems(ValueError):
    """Everything wrong with an alerting file, one line per mistake."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(problems))


@dataclass(frozen=True)
class Grouping:
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    by: tuple[str, ...] = ("cluster", "owner")


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    language: str = "en"
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: resolved secrets (password, secret, url) — never printed
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Rule:
    name: str
    channels: tuple[str, ...]
    severity: Severity = Severity.WARNING
    reasons: frozenset[str] = frozenset()
    clusters: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    resolved: bool = True
    #: a rule on node metrics: it raises alerts when its condition holds
    condition: NodeCondition | None = None


#: the node metrics a rule can watch, and the reason of the alerts each raises
NODE_METRIC_REASONS = {"cpu": "NodeCPUHigh", "memory": "NodeMemoryHigh", "disk": "NodeDiskHigh"}
DISK_FORECAST_REASON = "NodeDiskFillingUp"


@dataclass(frozen=True)
class NodeCondition:
    """A node metric (percent used) above a threshold, or a filesystem that a linear fit
    over its stored trend says will be full soon, held for ``hold`` seconds."""

    metric: str  # cpu | memory | disk
    above: float | None = None  # percent used
    hold: float = 300.0  # the rule's ``for``
    full_within: float | None = None  # disk only: the forecast's horizon
    trend: float = 6 * 3600.0  # the window of the fit
    mountpoints: tuple[str, ...] = ()  # disk only: shell patterns; empty: every filesystem

    @property
    def reason(self) -> str:
        return (
            DISK_FORECAST_REASON
            if self.full_within is not None
            else NODE_METRIC_REASONS[self.metric]
        )


@dataclass(frozen=True)
class AlertConfig:
    channels: Mapping[str, Channel]
    rules: tuple[Rule, ...]
    grouping: Grouping = Grouping()
    #: a cluster (or its agent) offline this long is an anomaly of its own
    unreachable_after: float = 60.0
    #: service-level objectives (``[[slos]]``): their burn-rate alerts (``headless_agent.slo``)
    slos: tuple[Objective, ...] = ()
    #: ingress controllers besides those the usual labels find (``[[slo_controllers]]``)
    slo_controllers: tuple[ControllerSelector, ...] = ()
    #: clusters whose SLO minutes come from a Prometheus server: cluster → its URL
    #: (``[[slo_prometheus]]``); their controllers are not scraped
    slo_prometheus: Mapping[str, str] = field(default_factory=dict)


def parse_duration(text: Any) -> float:
    match = _DURATION.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 4h")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class _Lines:
    """Where things are in the file, for messages a user can act on."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def of(self, table: str, index: int | None, key: str | None) -> int:
        header = f"[[{table}]]" if index is not None else f"[{table}]"
        seen = -1
        start = 0
        for number, line in enumerate(self.lines, 1):
            if line.strip().startswith(header):
                seen += 1
                if index is None or seen == index:
                    start = number
                    break
        if not start:
            return 1
        if key is None:
            return start
        for number in range(start, len(self.lines)):
            text = self.lines[number].strip()
            if text.startswith("["):
                break
            if re.match(rf"^{re.escape(key)}\s*=", text):
                return number + 1
        return start


def load_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AlertConfig:
    """Read and check an alerting file; raise ``ConfigProblems`` listing every mistake."""
    source = Path(path)
    env = os.environ if environ is None else environ
    try:
        text = source.read_text()
    except OSError as error:
        raise ConfigProblems(source, [f"cannot be read: {error.strerror}"]) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigProblems(source, [str(error)]) from None  # it names the line
    lines = _Lines(text)
    problems: list[str] = []

    def problem(table: str, index: int | None, key: str | None, message: str) -> None:
        where = f"{table}[{index}]" if index is not None else table
        where += f".{key}" if key else ""
        problems.append(f"line {lines.of(table, index, key)}: {where}: {message}")

    known_top = {
        "grouping",
        "channels",
        "rules",
        "health",
        "slos",
        "slo_controllers",
        "slo_prometheus",
    }
    for key in document:
        if key not in known_top:
            problems.append(
                f"line 1: unknown section {key!r} (known: {', '.join(sorted(known_top))})"
            )

    grouping = Grouping()
    raw_grouping = document.get("grouping", {})
    if isinstance(raw_grouping, dict):
        values: dict[str, Any] = {}
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in raw_grouping:
                try:
                    values[key] = parse_duration(raw_grouping[key])
                except ValueError as error:
                    problem("grouping", None, key, str(error))
        if "by" in raw_grouping:
            by = raw_grouping["by"]
            allowed = {"cluster", "owner", "namespace", "reason"}
            if not isinstance(by, list) or not set(by) <= allowed:
                problem("grouping", None, "by", f"a list of {', '.join(sorted(allowed))}")
            else:
                values["by"] = tuple(by)
        grouping = Grouping(**values)

    unreachable_after = 60.0
    raw_health = document.get("health", {})
    if isinstance(raw_health, dict) and "unreachable_after" in raw_health:
        try:
            unreachable_after = parse_duration(raw_health["unreachable_after"])
        except ValueError as error:
            problem("health", None, "unreachable_after", str(error))

    channels: dict[str, Channel] = {}
    raw_channels = document.get("channels", [])
    for index, raw in enumerate(raw_channels if isinstance(raw_channels, list) else []):
        channel = _channel(raw, index, env, problem)
        if channel is not None:
            if channel.name in channels:
                problem("channels", index, "name", f"{channel.name!r} is used twice")
            channels[channel.name] = channel

    # Rules may name a channel that has mistakes of its own: those are reported there.
    declared = {
        str(raw.get("name"))
        for raw in (raw_channels if isinstance(raw_channels, list) else [])
        if isinstance(raw, dict) and raw.get("name")
    }
    rules: list[Rule] = []
    raw_rules = document.get("rules", [])
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        rule = _rule(raw, index, declared, problem)
        if rule is not None:
            rules.append(rule)
    slos = _objectives(document.get("slos", []), problem)
    controllers = _controllers(document.get("slo_controllers", []), problem)
    prometheus = _prometheus(document.get("slo_prometheus", []), problem)
    if problems:
        raise ConfigProblems(source, problems)
    return AlertConfig(
        channels, tuple(rules), grouping, unreachable_after, slos, controllers, prometheus
    )


def _controllers(raw: Any, problem: Any) -> tuple[ControllerSelector, ...]:
    """``[[slo_controllers]]``: format, labels (a table), port, and optionally path and
    namespace — for controllers the usual labels do not find."""
    if not isinstance(raw, list):
        problem("slo_controllers", None, None, "expected [[slo_controllers]] tables")
        return ()
    found = []
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            problem("slo_controllers", index, None, "expected a table")
            continue
        labels = table.get("labels")
        port = table.get("port")
        ok = True
        if table.get("format") not in CONTROLLER_FORMATS:
            problem("slo_controllers", index, "format", f"one of {', '.join(CONTROLLER_FORMATS)}")
            ok = False
        if (
            not isinstance(labels, dict)
            or not labels
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            problem("slo_controllers", index, "labels", 'a table such as { app = "my-ingress" }')
            ok = False
        if not (isinstance(port, int) and 0 < port < 65536) and not isinstance(port, str):
            problem("slo_controllers", index, "port", "a port number or name")
            ok = False
        if ok:
            found.append(
                ControllerSelector(
                    str(table["format"]),
                    tuple(sorted((str(k), str(v)) for k, v in labels.items())),  # type: ignore[union-attr]
                    port,  # type: ignore[arg-type]
                    str(table.get("path", "metrics")).lstrip("/"),
                    str(table.get("namespace", "")),
                )
            )
    return tuple(found)


def _prometheus(raw: Any, problem: Any) -> dict[str, str]:
    """``[[slo_prometheus]]``: a server's ``url`` and the ``clusters`` it scrapes."""
    if not isinstance(raw, list):
        problem("slo_prometheus", None, None, "expected [[slo_prometheus]] tables")
        return {}
    found: dict[str, str] = {}
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            problem("slo_prometheus", index, None, "expected a table")
            continue
        url, clusters = table.get("url"), table.get("clusters")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problem("slo_prometheus", index, "url", "an http:// or https:// URL")
            continue
        if not isinstance(clusters, list) or not clusters:
            problem("slo_prometheus", index, "clusters", "a list of cluster names")
            continue
        for cluster in clusters:
            if cluster in found:
                problem("slo_prometheus", index, "clusters", f"{cluster!r} is named twice")
            found[str(cluster)] = url
    return found


def _objectives(raw: Any, problem: Any) -> tuple[Objective, ...]:
    """The ``[[slos]]`` tables (see ``headless_agent.slo.objectives``)."""
    if not isinstance(raw, list):
        problem("slos", None, None, "expected [[slos]] tables")
        return ()
    objectives: dict[str, Objective] = {}
    for index, table in enumerate(raw):
        objective = parse_objective(table, index, problem, parse_duration)
        if objective is not None:
            if objective.name in objectives:
                problem("slos", index, "name", f"{objective.name!r} is used twice")
            objectives[objective.name] = objective
    return tuple(objectives.values())


def _channel(raw: Any, index: int, env: Mapping[str, str], problem: Any) -> Channel | None:
    if not isinstance(raw, dict):
        problem("channels", index, None, "expected a table")
        return None
    name, kind = raw.get("name"), raw.get("type")
    ok = True
    if not isinstance(name, str) or not name:
        problem("channels", index, "name", "required")
        ok = False
    if kind not in CHANNEL_TYPES:
        problem("channels", index, "type", f"one of {', '.join(CHANNEL_TYPES)}")
        return None
    language = raw.get("language", "en")
    if language not in i18n.LANGUAGES:
        problem("channels", index, "language", f"one of {', '.join(i18n.LANGUAGES)}")
        ok = False
    secrets: dict[str, str] = {}
    for secret in _SECRET_KEYS[kind]:
        if secret in raw:
            problem(
                "channels", index, secret,
                f"never write the {secret} here; use {secret}_keyring, {secret}_env or "
                f"{secret}_file",
            )  # fmt: skip
            ok = False
        value = _secret(raw, secret, index, env, problem)
        if value is not None:
            secrets[secret] = value
    required = {
        "smtp": ("host", "sender", "to"),
        "webhook": ("url",),
        "slack": (),
        "alertmanager": ("url",),
        "desktop": (),
    }[kind]
    for key in required:
        if key not in raw:
            problem("channels", index, key, "required")
            ok = False
    if kind == "slack" and "url" not in secrets:
        problem(
            "channels", index, "url_env", "the Slack webhook URL is required (url_env or url_file)"
        )
        ok = False
    if kind == "smtp":
        security = raw.get("security", "starttls")
        if security not in ("starttls", "tls", "plain"):
            problem("channels", index, "security", "one of starttls, tls, plain")
            ok = False
        recipients = raw.get("to")
        if "to" in raw and (not isinstance(recipients, list) or not recipients):
            problem("channels", index, "to", "a list of addresses")
            ok = False
    if not ok:
        return None
    settings = {k: v for k, v in raw.items() if k not in ("name", "type", "language")}
    return Channel(str(name), str(kind), str(language), settings, secrets)


def _from_keyring(service: str, user: str) -> str | None:
    """The secret stored in the OS keyring under ``service`` for ``user``; raises
    ValueError saying why there is none."""
    try:
        value = keyring.get_password(service, user)
    except keyring.errors.NoKeyringError:
        raise ValueError(
            "no OS keyring is available here; use the _env or _file form instead"
        ) from None
    except keyring.errors.KeyringError as error:
        raise ValueError(f"the keyring could not be read: {error}") from None
    if not value:
        raise ValueError(
            f"nothing is stored in the keyring for service {service!r}, user {user!r} "
            f"(keyring set {service} {user})"
        )
    return value


def _secret(
    raw: Mapping[str, Any], name: str, index: int, env: Mapping[str, str], problem: Any
) -> str | None:
    variable, path = raw.get(f"{name}_env"), raw.get(f"{name}_file")
    service = raw.get(f"{name}_keyring")
    if service is not None:
        # The user under which it is stored: the login name, else the channel's name.
        user = str(raw.get("username") or raw.get("name") or "")
        try:
            return _from_keyring(str(service), user)
        except ValueError as error:
            problem("channels", index, f"{name}_keyring", str(error))
            return None
    if variable is not None:
        value = env.get(str(variable))
        if not value:
            problem("channels", index, f"{name}_env", f"the variable {variable} is not set")
            return None
        return value
    if path is not None:
        file = Path(str(path)).expanduser()
        try:
            mode = file.stat().st_mode
        except OSError as error:
            problem("channels", index, f"{name}_file", f"{file}: {error.strerror}")
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problem(
                "channels", index, f"{name}_file",
                f"{file} can be read by others; chmod 600 it",
            )  # fmt: skip
            return None
        return file.read_text().strip()
    return None


def _rule(raw: Any, index: int, channels: set[str], problem: Any) -> Rule | None:
    if not isinstance(raw, dict):
        problem("rules", index, None, "expected a table")
        return None
    ok = True
    name = raw.get("name", f"rule {index + 1}")
    targets = raw.get("channels")
    if not isinstance(targets, list) or not targets:
        problem("rules", index, "channels", "a list of channel names")
        ok = False
        targets = []
    for target in targets:
        if target not in channels:
            known = ", ".join(sorted(channels)) or "none"
            problem("rules", index, "channels", f"no channel named {target!r} (known: {known})")
            ok = False
    severity = Severity.WARNING
    if "severity" in raw:
        try:
            severity = Severity[str(raw["severity"]).upper()]
        except KeyError:
            problem("rules", index, "severity", "warning or critical")
            ok = False
    sets: dict[str, frozenset[str]] = {}
    for key in ("reasons", "clusters", "namespaces"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem("rules", index, key, "a list of names")
            ok = False
            value = []
        sets[key] = frozenset(value)
    resolved = raw.get("resolved", True)
    if not isinstance(resolved, bool):
        problem("rules", index, "resolved", "true or false")
        ok = False
    condition_ok, condition = _condition(raw, index, problem)
    ok = ok and condition_ok
    if "metric" in raw:
        own = f" ({condition.reason})" if condition is not None else ""
        for key, what in (
            ("reasons", f"a node-metric rule matches its own alerts{own}; leave reasons out"),
            ("namespaces", "nodes have no namespace; leave namespaces out"),
        ):
            if sets[key]:
                problem("rules", index, key, what)
                ok = False
    if condition is not None:
        sets["reasons"] = frozenset({condition.reason})
        if "severity" not in raw and condition.full_within is not None:
            severity = Severity.CRITICAL  # a disk about to be full stops writes on the node
    if not ok:
        return None
    return Rule(str(name), tuple(targets), severity, sets["reasons"], sets["clusters"],
                sets["namespaces"], bool(resolved), condition)  # fmt: skip


_CONDITION_KEYS = ("above", "for", "full_within", "trend", "mountpoints")


def _condition(
    raw: Mapping[str, Any], index: int, problem: Any
) -> tuple[bool, NodeCondition | None]:
    """A rule's node-metric condition (None: it has none), and False if it has mistakes
    (each reported)."""
    metric = raw.get("metric")
    if metric is None:
        stray = [key for key in _CONDITION_KEYS if key in raw]
        for key in stray:
            problem("rules", index, key, 'only with metric = "cpu", "memory" or "disk"')
        return not stray, None
    ok = True
    if metric not in NODE_METRIC_REASONS:
        problem("rules", index, "metric", f"one of {', '.join(NODE_METRIC_REASONS)}")
        ok = False
    values: dict[str, Any] = {"metric": metric}
    if "above" in raw:
        above = raw["above"]
        if isinstance(above, bool) or not isinstance(above, int | float) or not 0 <= above < 100:
            problem("rules", index, "above", "a percentage under 100, e.g. 90")
            ok = False
        else:
            values["above"] = float(above)
    durations = {"for": ("hold", 0.0, 86400.0), "full_within": ("full_within", 60.0, None),
                 "trend": ("trend", 600.0, 7 * 86400.0)}  # fmt: skip
    for key, (attribute, shortest, longest) in durations.items():
        if key not in raw:
            continue
        try:
            seconds = parse_duration(raw[key])
        except ValueError as error:
            problem("rules", index, key, str(error))
            ok = False
            continue
        if seconds < shortest or (longest is not None and seconds > longest):
            limits = {"for": "at most 1d", "full_within": "at least 1m",
                      "trend": "from 10m to 7d"}[key]  # fmt: skip
            problem("rules", index, key, f"{raw[key]}: {limits}")
            ok = False
            continue
        values[attribute] = seconds
    for key in ("full_within", "trend", "mountpoints"):
        if key in raw and metric != "disk":
            problem("rules", index, key, 'only with metric = "disk"')
            ok = False
    if "trend" in raw and "full_within" not in raw and metric == "disk":
        problem("rules", index, "trend", "only with full_within (the fit's window)")
        ok = False
    if "mountpoints" in raw:
        patterns = raw["mountpoints"]
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            problem("rules", index, "mountpoints", 'a list of mount points or patterns ("/var/*")')
            ok = False
        else:
            values["mountpoints"] = tuple(patterns)
    if "above" not in raw and "full_within" not in raw and metric in NODE_METRIC_REASONS:
        needed = "above or full_within" if metric == "disk" else "above"
        problem("rules", index, "metric", f"{metric} needs {needed}")
        ok = False
    if not ok:
        return False, None
    return True, NodeCondition(**values)
