"""What the agent and a hub say to each other (protocol version 1), both directions.

All JSON, encoded with orjson. Records and anomalies travel as arrays of field values
(``state.record_codec``), a fraction of the raw objects' size.

``GET /v1/snapshot`` — the cluster now::

    {"protocol": 1, "cluster": "prod", "cursor": 812,
     "health": {"state": "synced", "error": null, "category": null, "hidden": []},
     "objects": {"Pod": [["shop", "checkout-1", [...record...]], ...], ...},
     "anomalies": [[...anomaly...], ...]}

``GET /v1/stream?cursor=N`` — newline-delimited JSON, every line after N, then new lines
as they happen; a heartbeat line every ``HEARTBEAT`` seconds when nothing else is said.
``410 Gone`` when the agent no longer has the lines after N (the hub takes a snapshot)::

    {"seq": 813, "t": "change", "kind": "Pod", "ns": "shop", "name": "checkout-1",
     "record": [...] | null}
    {"seq": 814, "t": "anomaly", "type": "opened", "at": 1764201600.2, "anomaly": [...]}
    {"seq": 815, "t": "health", "health": {...}}
    {"t": "heartbeat", "last": 815}

``GET /v1/node-samples?after=N`` — node samples the agent received after its sample
number N (0: all it keeps), at most ``limit``::

    {"last": 9120, "oldest": 4410, "samples": [[9119, {"node": "w1", "timestamp": ..,
      "gauges": {..}, "counters": {..}}], ...]}

``POST /v1/node-samples`` — a probe's batch (``nodeprobe.wire``, usually gzip).

``GET /v1/slo-minutes?after=N`` — the finished SLO minutes the agent's collector booked
from the ingress controllers after its minute number N, the same way (``statuses``:
requests by status; ``latency``: cumulative buckets, the last bound ``"+Inf"``)::

    {"last": 310, "oldest": 1, "minutes": [[309, {"slo": "shop.example.com/checkout",
      "start": 1764201600.0, "seconds": 60.0, "good": 51, "total": 52,
      "statuses": [["200", 51], ["503", 1]], "latency": [[0.1, 40], ["+Inf", 52]]}], ...]}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from headless_agent.detect.anomaly import Anomaly, Transition, TransitionType
from headless_agent.kube.health import HealthSnapshot
from headless_agent.state.cluster_state import Change
from headless_agent.state.record_codec import decode, decode_record, encode
from headless_agent.state.records import MalformedObject, Record
from headless_agent.store.audit import redact
from headless_agent.store.records import AuditEntry, SloWindow
from headless_agent.store.samples import NodeSamples

PROTOCOL = 1
HEARTBEAT = 15.0
#: where the agent's token goes when ``Authorization`` carries Kubernetes credentials
#: (through the API server's service proxy, which strips ``Authorization``)
TOKEN_HEADER = "x-atlhyper-token"


class ProtocolError(ValueError):
    """A line or document from the agent that this hub cannot read."""


# --- lines the agent writes ---------------------------------------------------------------


def change_line(change: Change) -> bytes:
    namespace, name = change.key
    record = None if change.new is None else encode(change.new)
    return orjson.dumps(
        {"t": "change", "kind": change.kind, "ns": namespace, "name": name, "record": record}
    )


def anomaly_line(transition: Transition, at: float) -> bytes:
    return orjson.dumps(
        {
            "t": "anomaly",
            "type": transition.type.value,
            "at": at,
            "anomaly": encode(transition.anomaly),
        }
    )


def health_document(snapshot: HealthSnapshot) -> dict[str, Any]:
    return {
        "state": snapshot.state.value,
        "error": snapshot.last_error,
        "category": snapshot.last_error_category,
        "hidden": list(snapshot.hidden),
    }


def health_line(snapshot: HealthSnapshot) -> bytes:
    return orjson.dumps({"t": "health", "health": health_document(snapshot)})


def numbered(seq: int, line: bytes) -> bytes:
    """A journal line with its number in front (lines are stored without it)."""
    return b'{"seq":%d,%s\n' % (seq, line[1:])


def heartbeat_line(last: int) -> bytes:
    return orjson.dumps({"t": "heartbeat", "last": last}) + b"\n"


def samples_document(samples: NodeSamples) -> dict[str, Any]:
    return {
        "node": samples.node,
        "timestamp": samples.timestamp,
        "gauges": dict(samples.gauges),
        "counters": dict(samples.counters),
    }


def snapshot_document(
    cluster: str,
    cursor: int,
    health: HealthSnapshot,
    objects: Mapping[str, Iterable[Record]],
    anomalies: Iterable[Anomaly],
) -> bytes:
    return orjson.dumps(
        {
            "protocol": PROTOCOL,
            "cluster": cluster,
            "cursor": cursor,
            "health": health_document(health),
            "objects": {
                kind: [[r.namespace, r.name, encode(r)] for r in records]
                for kind, records in objects.items()
            },
            "anomalies": [encode(a) for a in anomalies],
        }
    )


# --- reading them on the hub --------------------------------------------------------------


def _field(document: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(document, dict):
        raise ProtocolError(f"expected an object, got {type(document).__name__}")
    value = document.get(name)
    if not isinstance(value, kind):
        raise ProtocolError(f"{name!r} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def read_anomaly(data: Any, cluster: str) -> Anomaly:
    """An anomaly from the agent, renamed to the hub's name for the cluster."""
    try:
        anomaly: Anomaly = decode(Anomaly, data)
    except MalformedObject as error:
        raise ProtocolError(str(error)) from None
    return replace(anomaly, key=replace(anomaly.key, cluster=cluster))


def read_record(kind: str, data: Any) -> Record:
    try:
        return decode_record(kind, data)
    except MalformedObject as error:
        raise ProtocolError(str(error)) from None


def read_transition(line: Mapping[str, Any], cluster: str) -> Transition:
    try:
        kind = TransitionType(_field(line, "type", str))
    except ValueError:
        raise ProtocolError(f"unknown transition type {line.get('type')!r}") from None
    at = _field(line, "at", (int, float))
    return Transition(kind, read_anomaly(line.get("anomaly"), cluster), at=float(at))


def read_samples(document: Any) -> NodeSamples:
    node = _field(document, "node", str)
    timestamp = _field(document, "timestamp", (int, float))
    gauges = _field(document, "gauges", dict)
    counters = _field(document, "counters", dict)
    for values in (gauges, counters):
        for name, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ProtocolError(f"sample {name!r} of {node} is not a number")
    try:
        return NodeSamples(node, float(timestamp), gauges, counters)
    except ValueError as error:
        raise ProtocolError(str(error)) from None


def slo_minute_document(window: SloWindow) -> dict[str, Any]:
    return {
        "slo": window.slo,
        "start": window.window_start,
        "seconds": window.window_seconds,
        "good": window.good,
        "total": window.total,
        "statuses": [[status, count] for status, count in window.statuses],
        # JSON has no infinity: the +Inf bucket's bound travels as Prometheus writes it
        "latency": [["+Inf" if math.isinf(b) else b, count] for b, count in window.latency],
    }


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{what} is not a number")
    return float(value)


def read_slo_minute(document: Any) -> SloWindow:
    slo = _field(document, "slo", str)
    statuses, latency = _field(document, "statuses", list), _field(document, "latency", list)
    for items in (statuses, latency):
        if not all(isinstance(item, list) and len(item) == 2 for item in items):
            raise ProtocolError(f"a status or bucket entry of {slo!r} is not a pair")
    return SloWindow(
        slo=slo,
        window_start=_number(document.get("start"), f"the start of {slo!r}"),
        window_seconds=_number(document.get("seconds"), f"the length of {slo!r}"),
        good=_number(document.get("good"), f"good of {slo!r}"),
        total=_number(document.get("total"), f"total of {slo!r}"),
        statuses=tuple(
            (str(status), _number(count, f"a status count of {slo!r}"))
            for status, count in statuses
        ),
        latency=tuple(
            (
                math.inf if bound == "+Inf" else _number(bound, f"a bound of {slo!r}"),
                _number(count, f"a bucket of {slo!r}"),
            )
            for bound, count in latency
        ),
    )


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "outcome": entry.outcome,
        "target": [entry.target_kind, entry.target_namespace, entry.target_name],
        "parameters": redact(entry.parameters),
        "identity": entry.identity,
        "error": entry.error,
        "duration": entry.duration,
        "key": entry.request_key,
    }


def read_audit(document: Any, cluster: str, via: str) -> AuditEntry:
    """An entry of an agent's audit, as the hub's history keeps it."""
    if not isinstance(document, dict):
        raise ProtocolError("an audit entry is not an object")
    target = document.get("target")
    if not isinstance(target, list) or len(target) != 3:
        raise ProtocolError("an audit entry lacks its target")
    try:
        return AuditEntry(
            at=float(document["at"]),
            actor=str(document["actor"]),
            action=str(document["action"]),
            outcome=str(document["outcome"]),
            cluster=cluster,
            target_kind=str(target[0]),
            target_namespace=str(target[1]),
            target_name=str(target[2]),
            parameters=dict(document.get("parameters") or {}),
            identity=str(document.get("identity") or ""),
            via=via,
            error=str(document.get("error") or ""),
            duration=float(document["duration"]) if document.get("duration") is not None else None,
            request_key=str(document.get("key") or ""),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"unreadable audit entry: {error}") from None


def parse_json_or_none(data: bytes) -> Any:
    """Parsed JSON, or None for anything that is not (the caller says what it expected)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def parse_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ProtocolError(f"not JSON: {error}") from None
