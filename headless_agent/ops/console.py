"""The kubectl-style console: the verbs people type, through the one command path.

``get`` and ``top`` are answered from what the engine already knows (no extra API calls);
``describe``, ``logs``, ``scale``, ``rollout restart|undo``, ``cordon``, ``uncordon``,
``drain`` and ``delete pod`` become ``Command``s run by ``Operations`` — previewed,
confirmed, audited like any other. Anything else is refused with what the console does
take.

What the console says itself (refusals, errors, outcomes) is rendered in the language it
is asked for; the tables keep kubectl's column names, as kubectl prints them, so what is
copied from the console reads like kubectl's output.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from headless_agent import i18n
from headless_agent.hub import ClusterHandle
from headless_agent.ops.commands import Command, Outcome
from headless_agent.ops.runner import Operations
from headless_agent.state.ages import age
from headless_agent.state.records import NodeRecord, PodRecord, Record, WorkloadRecord
from headless_agent.store import HistoryStore, SeriesSelector, UnknownCluster

VERBS = (
    "get",
    "describe",
    "logs",
    "exec",
    "scale",
    "rollout restart",
    "rollout undo",
    "cordon",
    "uncordon",
    "drain",
    "delete pod",
    "top",
)

KINDS = {
    **dict.fromkeys(("po", "pod", "pods"), "Pod"),
    **dict.fromkeys(("no", "node", "nodes"), "Node"),
    **dict.fromkeys(("ns", "namespace", "namespaces"), "Namespace"),
    **dict.fromkeys(("deploy", "deployment", "deployments"), "Deployment"),
    **dict.fromkeys(("sts", "statefulset", "statefulsets"), "StatefulSet"),
    **dict.fromkeys(("ds", "daemonset", "daemonsets"), "DaemonSet"),
    **dict.fromkeys(("rs", "replicaset", "replicasets"), "ReplicaSet"),
    **dict.fromkeys(("job", "jobs"), "Job"),
    **dict.fromkeys(("cj", "cronjob", "cronjobs"), "CronJob"),
    **dict.fromkeys(("svc", "service", "services"), "Service"),
    **dict.fromkeys(("pvc", "persistentvolumeclaims"), "PersistentVolumeClaim"),
    "persistentvolumeclaim": "PersistentVolumeClaim",
    **dict.fromkeys(("ing", "ingress", "ingresses"), "Ingress"),
}  # fmt: skip

_DURATION = re.compile(r"^(\d+)(s|m|h)?$")


class ConsoleError(ValueError):
    """A line the console does not run; the message says what it takes instead.

    Raised with a catalog message id and its parameters; ``str()`` is the English text.
    """

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(i18n.english(message_id, **params))
        self.message_id = message_id
        self.params = params

    def text(self, language: str) -> str:
        return i18n.message(language, self.message_id, **self.params)


@dataclass
class ConsoleLine:
    """A parsed line: a command to run, or a table answered from the engine's state."""

    command: Command | None = None
    rows: list[list[str]] = field(default_factory=list)
    #: ``top nodes``: answered from the node metrics in the history
    top: bool = False


@dataclass
class _Args:
    words: list[str]
    flags: dict[str, str | bool]
    #: what follows ``--`` (exec's command)
    after_dashes: list[str] = field(default_factory=list)

    def flag(self, *names: str) -> str | bool | None:
        for name in names:
            if name in self.flags:
                return self.flags[name]
        return None

    def text(self, *names: str) -> str | None:
        value = self.flag(*names)
        if value is True:
            raise ConsoleError("console.error.needs_value", flag=names[0])
        return value if isinstance(value, str) else None

    def number(self, *names: str) -> int | None:
        value = self.text(*names)
        if value is None:
            return None
        if not value.isdigit():
            raise ConsoleError("console.error.not_a_number", flag=names[0], value=value)
        return int(value)


_VALUED = {"-n", "--namespace", "-c", "--container", "--tail", "--since", "--replicas",
           "--timeout", "--grace-period", "-o", "--output"}  # fmt: skip


def _split(line: str) -> _Args:
    try:
        tokens = shlex.split(line)
    except ValueError as error:
        raise ConsoleError("console.error.unreadable_line", detail=str(error)) from None
    if tokens and tokens[0] == "kubectl":
        tokens = tokens[1:]
    words: list[str] = []
    flags: dict[str, str | bool] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return _Args(words, flags, tokens[index + 1 :])
        if token.startswith("-"):
            name, equals, value = token.partition("=")
            if equals:
                flags[name] = value
            elif name in _VALUED:
                if index + 1 >= len(tokens):
                    raise ConsoleError("console.error.needs_value", flag=name)
                flags[name] = tokens[index + 1]
                index += 1
            else:
                flags[name] = True
        else:
            words.append(token)
        index += 1
    return _Args(words, flags)


def _kind_and_name(words: Sequence[str], verb: str) -> tuple[str, str]:
    """``deployment/web``, ``deployment web`` or ``deploy web``."""
    if not words:
        raise ConsoleError("console.error.which_object", verb=verb)
    first = words[0]
    if "/" in first:
        kind_word, _, name = first.partition("/")
    elif len(words) > 1:
        kind_word, name = first, words[1]
    else:
        raise ConsoleError("console.error.which_object", verb=verb)
    kind = KINDS.get(kind_word.lower())
    if kind is None:
        raise ConsoleError("console.error.unknown_kind", verb=verb, kind=kind_word)
    return kind, name


def _seconds(text: str, flag: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise ConsoleError("console.error.not_a_duration", flag=flag, value=text)
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def parse(line: str, handle: ClusterHandle, default_namespace: str = "default") -> ConsoleLine:
    """Read one console line for the cluster of ``handle``; raise ConsoleError if it is
    not something the console runs."""
    args = _split(line)
    if not args.words:
        raise ConsoleError("console.error.empty")
    verb, rest = args.words[0], args.words[1:]
    namespace = args.text("-n", "--namespace") or default_namespace
    if verb == "get":
        return ConsoleLine(rows=_get(handle, rest, args, namespace))
    if verb == "top":
        if not rest or rest[0] not in ("node", "nodes", "no"):
            raise ConsoleError("console.error.top")
        return ConsoleLine(top=True)
    if verb == "describe":
        kind, name = _kind_and_name(rest, verb)
        return ConsoleLine(Command("describe", kind, _ns(kind, namespace), name))
    if verb == "logs":
        if not rest:
            raise ConsoleError("console.error.which_pod")
        pod = rest[0].removeprefix("pod/")
        params: dict[str, Any] = {}
        container = args.text("-c", "--container")
        if container:
            params["container"] = container
        if args.flag("-p", "--previous"):
            params["previous"] = True
        tail = args.number("--tail")
        if tail is not None:
            params["tail"] = tail
        since = args.text("--since")
        if since:
            params["since_seconds"] = _seconds(since, "--since")
        return ConsoleLine(Command("logs", "Pod", namespace, pod, params))
    if verb == "exec":
        if not rest or not args.after_dashes:
            raise ConsoleError("console.error.exec_usage")
        params = {"command": args.after_dashes}
        container = args.text("-c", "--container")
        if container:
            params["container"] = container
        if args.flag("-i", "-t", "-it", "-ti", "--stdin", "--tty"):
            raise ConsoleError("console.error.exec_terminal")
        return ConsoleLine(Command("exec", "Pod", namespace, rest[0].removeprefix("pod/"), params))
    if verb == "scale":
        kind, name = _kind_and_name(rest, verb)
        replicas = args.number("--replicas")
        if replicas is None:
            raise ConsoleError("console.error.replicas_required")
        return ConsoleLine(Command("scale", kind, namespace, name, {"replicas": replicas}))
    if verb == "rollout":
        if not rest or rest[0] not in ("restart", "undo"):
            raise ConsoleError("console.error.rollout")
        kind, name = _kind_and_name(rest[1:], f"rollout {rest[0]}")
        action = "rollout-restart" if rest[0] == "restart" else "rollback"
        return ConsoleLine(Command(action, kind, namespace, name))
    if verb in ("cordon", "uncordon", "drain"):
        if not rest:
            raise ConsoleError("console.error.which_node", verb=verb)
        node = rest[0].removeprefix("node/")
        params = {}
        if verb == "drain":
            timeout = args.text("--timeout")
            if timeout:
                params["timeout"] = _seconds(timeout, "--timeout")
            grace = args.number("--grace-period")
            if grace is not None:
                params["grace_seconds"] = grace
        return ConsoleLine(Command(verb, "Node", "", node, params))
    if verb == "delete":
        kind, name = _kind_and_name(rest, verb)
        if kind != "Pod":
            raise ConsoleError("console.error.pods_only")
        force = bool(args.flag("--force")) or args.number("--grace-period") == 0
        return ConsoleLine(Command("delete-pod", "Pod", namespace, name, {"force": force}))
    raise ConsoleError("console.error.unknown_verb", verb=verb, verbs=", ".join(VERBS))


def _ns(kind: str, namespace: str) -> str:
    return "" if kind in ("Node", "Namespace") else namespace


def _get(handle: ClusterHandle, words: list[str], args: _Args, namespace: str) -> list[list[str]]:
    if not words:
        raise ConsoleError("console.error.get_what")
    kind = KINDS.get(words[0].lower())
    if kind is None:
        raise ConsoleError("console.error.unknown_kind", verb="get", kind=words[0])
    every = bool(args.flag("-A", "--all-namespaces")) or kind in ("Node", "Namespace")
    name = words[1] if len(words) > 1 else None
    records = sorted(
        (
            r
            for r in handle.state.records(kind)
            if (every or r.namespace == namespace) and (name is None or r.name == name)
        ),
        key=lambda r: (r.namespace, r.name),
    )
    if name is not None and not records:
        raise ConsoleError("console.error.not_found", kind=kind, name=name, namespace=namespace)
    now = time.time()
    header, row = _columns(kind)
    show_namespace = every and kind not in ("Node", "Namespace")
    table = [(["NAMESPACE"] if show_namespace else []) + header]
    for record in records:
        table.append(([record.namespace] if show_namespace else []) + row(record, now))
    return table


def _since(record: Record, now: float) -> str:
    return age(now - record.created) if record.created else "<unknown>"


def _columns(kind: str) -> tuple[list[str], Any]:
    if kind == "Pod":

        def pod(r: Record, now: float) -> list[str]:
            assert isinstance(r, PodRecord)
            containers = [c for c in r.containers if not c.init]
            ready = f"{sum(c.ready for c in containers)}/{len(containers)}"
            return [r.name, ready, r.display_status, str(r.restart_count), _since(r, now), r.node]

        return ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"], pod
    if kind == "Node":

        def node(r: Record, now: float) -> list[str]:
            assert isinstance(r, NodeRecord)
            status = {"True": "Ready", "False": "NotReady"}.get(r.ready_status, "Unknown")
            if r.unschedulable:
                status += ",SchedulingDisabled"
            roles = ",".join(r.roles) or "<none>"
            return [r.name, status, roles, _since(r, now), r.kubelet_version]

        return ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], node
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):

        def workload(r: Record, now: float) -> list[str]:
            assert isinstance(r, WorkloadRecord)
            return [
                r.name,
                f"{r.ready}/{r.desired}",
                str(r.updated),
                str(r.available),
                _since(r, now),
            ]

        return ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], workload
    return ["NAME", "AGE"], lambda r, now: [r.name, _since(r, now)]


_TOP_SERIES = ('cpu_usage_percent{mode="idle"}', "memory_used_bytes", "memory_used_percent")


def _top(store: HistoryStore, cluster: str, now: float) -> list[list[str]]:
    """The newest node metrics of the last five minutes, per node."""
    try:
        series = store.query_series(
            SeriesSelector(cluster, None, _TOP_SERIES), now - 300, now, resolution="raw"
        )
    except UnknownCluster:
        series = []
    latest: dict[str, dict[str, float]] = {}
    for points in series:
        if len(points.times):
            per_node = latest.setdefault(points.series.node, {})
            per_node[points.series.name] = float(points.last[-1])
    if not latest:
        raise ConsoleError("console.error.no_metrics", minutes=5)
    table = [["NAME", "CPU%", "MEMORY(bytes)", "MEMORY%"]]
    for node, values in sorted(latest.items()):
        idle = values.get(_TOP_SERIES[0])
        cpu = f"{100 - idle:.0f}%" if idle is not None else "<unknown>"
        used = values.get("memory_used_bytes")
        memory = f"{used / 2**20:.0f}Mi" if used is not None else "<unknown>"
        share = values.get("memory_used_percent")
        table.append([node, cpu, memory, f"{share:.0f}%" if share is not None else "<unknown>"])
    return table


async def run_line(
    ops: Operations,
    cluster: str,
    line: str,
    *,
    default_namespace: str = "default",
    language: str = i18n.DEFAULT_LANGUAGE,
) -> tuple[bool, str]:
    """Run one console line on ``cluster``: (succeeded, what to print in ``language``)."""
    handle = ops.hub.clusters.get(cluster)
    if handle is None:
        not_watched = i18n.message(language, "operation.refused.not_watched", cluster=cluster)
        return False, i18n.message(language, "console.error", detail=not_watched)
    try:
        parsed = parse(line, handle, default_namespace)
        if parsed.top:
            store = ops.hub.history
            if store is None:
                raise ConsoleError("console.error.top_needs_history")
            rows = await trio.to_thread.run_sync(_top, store, cluster, time.time())
            return True, format_table(rows)
    except ConsoleError as error:
        return False, i18n.message(language, "console.error", detail=error.text(language))
    if parsed.command is None:
        if len(parsed.rows) < 2:  # a heading and nothing under it: say so, as kubectl does
            return True, i18n.message(language, "console.no_resources")
        return True, format_table(parsed.rows)
    outcome = await ops.run(cluster, parsed.command)
    return outcome.ok, outcome_text(outcome, language)


def outcome_text(outcome: Outcome, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """An outcome as the console prints it: the words, then logs, YAML, events, reports."""
    data = outcome.data
    if not outcome.ok:
        return i18n.message(language, "console.error", detail=outcome.text(language))
    if "text" in data:
        return str(data["text"]).rstrip("\n")
    parts = []
    if "yaml" in data:
        parts.append(str(data["yaml"]).rstrip("\n"))
    if "events" in data:
        rows = [["TYPE", "REASON", "COUNT", "LAST", "MESSAGE"]]
        rows += [
            [e["type"], e["reason"], str(e["count"]), str(e["last"]), e["message"]]
            for e in data["events"]
        ]
        parts.append("Events:\n" + (format_table(rows) if len(rows) > 1 else "  <none>"))
    return "\n\n".join(parts) if parts else outcome.text(language)


def format_table(rows: list[list[str]]) -> str:
    """Columns padded like kubectl's output."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
