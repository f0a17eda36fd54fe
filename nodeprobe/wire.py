"""The batch the probe pushes to the agent: versioned JSON, and its validator.

Schema version 1 (UTF-8 JSON, usually sent gzip-compressed)::

    {
      "schema_version": 1,
      "node": "worker-1",                 # the node's name (downward API)
      "probe_version": "0.1.0",
      "sent_at": 1764201600.25,           # Unix seconds when the batch was sent
      "dropped_samples": 0,               # samples this probe has lost since it started
      "fields": {                         # every field the samples may name
        "cpu_seconds_total": {"kind": "counter", "unit": "seconds",
                              "labels": ["cpu", "mode"], "help": "…"},
        …
      },
      "disabled": [                       # collectors that do not run, and why
        {"collector": "sensors", "state": "unavailable", "reason": "…"}
      ],
      "samples": [                        # oldest first
        {"timestamp": 1764201585.1,       # Unix seconds of the collection
         "elapsed_seconds": 15.0,         # since the previous one; null for the first
         "values": [{"name": "cpu_seconds_total",
                     "labels": {"cpu": "0", "mode": "user"}, "value": 768.87},
                    {"name": "load1", "value": 0.42}, …]}
      ]
    }

Counters (``kind: counter``) are the kernel's running totals; gauges are values at the
time of collection, among them the rates and percentages the probe derived (absent in a
sample that has no previous one to compare with, or after a counter reset). Label
names of a value are exactly its field's. Keys this version does not define are
ignored, so a later probe may add some without a new version; anything that changes
the meaning of existing keys gets a new ``schema_version``.

`parse_batch` is what the agent calls on a push: it decompresses gzip itself (bounded,
so a small body cannot expand without limit) and raises `BatchError` naming the first
thing that is wrong. This module imports only the standard library.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn, cast

from nodeprobe.model import (
    COLLECTOR_STATES,
    KINDS,
    DisabledCollector,
    Field,
    Labels,
    Readings,
    Sample,
    SeriesKey,
)

SCHEMA_VERSION = 1
MAX_BATCH_BYTES = 16 * 1024 * 1024  # after decompression
MAX_SAMPLES = 10_000
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_GZIP_MAGIC = b"\x1f\x8b"


class BatchError(ValueError):
    """A batch that cannot be accepted; the message says what is wrong and where."""


class UnsupportedSchemaVersion(BatchError):
    """The batch has a schema version this build does not read."""


class BatchTooLarge(BatchError):
    """The batch is larger than the receiver accepts."""


@dataclass(frozen=True, slots=True)
class Batch:
    """A parsed, validated batch (see the module docstring for the meaning of each part)."""

    schema_version: int
    node: str
    probe_version: str
    sent_at: float
    dropped_samples: int
    fields: Mapping[str, Field]
    disabled: tuple[DisabledCollector, ...]
    samples: tuple[Sample, ...]


# --- encoding ---------------------------------------------------------------------------


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def encode_fields(fields: Iterable[Field]) -> bytes:
    """The ``fields`` object of a batch, as JSON bytes."""
    return _dumps(
        {
            field.name: {
                "kind": field.kind,
                "unit": field.unit,
                "labels": list(field.labels),
                "help": field.help,
            }
            for field in fields
        }
    )


def encode_disabled(disabled: Iterable[DisabledCollector]) -> bytes:
    """The ``disabled`` list of a batch, as JSON bytes."""
    return _dumps(
        [{"collector": d.collector, "state": d.state, "reason": d.reason} for d in disabled]
    )


class SampleEncoder:
    """Encodes samples as entries of ``samples``, remembering each series' JSON prefix.

    The same series come back in every collection, so their ``{"name":…,"labels":…,
    "value":`` prefix is built once; only the number changes. The memory is bounded:
    past ``max_series`` prefixes (churning labels, e.g. top processes) it starts over.
    """

    def __init__(self, max_series: int = 20_000) -> None:
        self._prefixes: dict[SeriesKey, str] = {}
        self._max_series = max_series

    def __call__(self, sample: Sample) -> bytes:
        prefixes = self._prefixes
        entries = []
        for key, value in sample.values.items():
            prefix = prefixes.get(key)
            if prefix is None:
                if len(prefixes) >= self._max_series:
                    prefixes.clear()
                name, labels = key
                prefix = '{"name":' + json.dumps(name)
                if labels:
                    prefix += ',"labels":' + json.dumps(dict(labels), separators=(",", ":"))
                prefix += ',"value":'
                prefixes[key] = prefix
            if value - value != 0:  # NaN or infinite (math.isfinite, without the call)
                raise ValueError(f"{key[0]}{dict(key[1])} is {value}; JSON has no such number")
            entries.append(f"{prefix}{float(value)!r}}}")
        elapsed = "null" if sample.elapsed_seconds is None else repr(float(sample.elapsed_seconds))
        return (
            f'{{"timestamp":{float(sample.timestamp)!r},"elapsed_seconds":{elapsed},'
            f'"values":[{",".join(entries)}]}}'
        ).encode()


def encode_sample(sample: Sample) -> bytes:
    """One entry of ``samples``, as JSON bytes."""
    return SampleEncoder()(sample)


def assemble_batch(
    *,
    node: str,
    probe_version: str,
    sent_at: float,
    dropped_samples: int,
    fields_json: bytes,
    disabled_json: bytes,
    sample_jsons: Sequence[bytes],
) -> bytes:
    """A whole batch from parts encoded earlier (the push buffer keeps samples encoded)."""
    head = _dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "node": node,
            "probe_version": probe_version,
            "sent_at": sent_at,
            "dropped_samples": dropped_samples,
        }
    )
    return b"".join(
        (
            head[:-1],
            b',"fields":',
            fields_json,
            b',"disabled":',
            disabled_json,
            b',"samples":[',
            b",".join(sample_jsons),
            b"]}",
        )
    )


def encode_batch(
    *,
    node: str,
    probe_version: str,
    fields: Iterable[Field],
    samples: Iterable[Sample],
    disabled: Iterable[DisabledCollector] = (),
    sent_at: float,
    dropped_samples: int = 0,
) -> bytes:
    """A whole batch as JSON bytes."""
    return assemble_batch(
        node=node,
        probe_version=probe_version,
        sent_at=sent_at,
        dropped_samples=dropped_samples,
        fields_json=encode_fields(fields),
        disabled_json=encode_disabled(disabled),
        sample_jsons=[encode_sample(sample) for sample in samples],
    )


# --- parsing ----------------------------------------------------------------------------


def _fail(path: str, problem: str) -> NoReturn:
    raise BatchError(f"{path}: {problem}")


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value) if value is None or isinstance(value, str | int | float) else ""
    text = text or type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        _fail(path, f"expected an object, got {_describe(value)}")
    return cast(dict[str, object], value)


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        _fail(path, f"expected a list, got {_describe(value)}")
    return value


def _string(value: object, path: str, *, max_length: int = 1024, empty: bool = True) -> str:
    if not isinstance(value, str):
        _fail(path, f"expected a string, got {_describe(value)}")
    if not empty and not value:
        _fail(path, "must not be empty")
    if len(value) > max_length:
        _fail(path, f"longer than {max_length} characters")
    return value


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(path, f"expected a number, got {_describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        _fail(path, f"expected a finite number, got {value}")
    return number


def _require(document: Mapping[str, object], key: str, path: str) -> object:
    if key not in document:
        _fail(path, f"missing {key!r}")
    return document[key]


def _decompress(data: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        plain = inflater.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise BatchError(f"the body looks gzip-compressed but does not inflate: {error}") from None
    if len(plain) > max_bytes or inflater.unconsumed_tail:
        raise BatchTooLarge(f"the batch inflates to more than {max_bytes} bytes")
    if not inflater.eof:
        raise BatchError("the gzip stream is truncated")
    return plain


def _parse_fields(value: object) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for name, spec in _object(value, "fields").items():
        path = f"fields.{name}"
        if not _NAME.match(name):
            _fail(path, "a field name is lower-case letters, digits and underscores")
        document = _object(spec, path)
        kind = _require(document, "kind", path)
        if kind not in KINDS:
            _fail(f"{path}.kind", f"expected 'counter' or 'gauge', got {_describe(kind)}")
        labels = tuple(
            _string(label, f"{path}.labels[{i}]", max_length=128, empty=False)
            for i, label in enumerate(_list(_require(document, "labels", path), f"{path}.labels"))
        )
        if len(set(labels)) != len(labels):
            _fail(f"{path}.labels", "names a label twice")
        fields[name] = Field(
            name=name,
            kind="counter" if kind == "counter" else "gauge",
            unit=_string(document.get("unit", ""), f"{path}.unit", max_length=64),
            help=_string(document.get("help", ""), f"{path}.help", max_length=2048),
            labels=labels,
        )
    return fields


def _parse_disabled(value: object) -> tuple[DisabledCollector, ...]:
    disabled = []
    for i, entry in enumerate(_list(value, "disabled")):
        path = f"disabled[{i}]"
        document = _object(entry, path)
        state = _require(document, "state", path)
        if state == "unavailable" or state == "failed":
            disabled.append(
                DisabledCollector(
                    collector=_string(
                        _require(document, "collector", path), f"{path}.collector", empty=False
                    ),
                    state=state,
                    reason=_string(document.get("reason", ""), f"{path}.reason", max_length=4096),
                )
            )
        else:
            _fail(f"{path}.state", f"expected one of {COLLECTOR_STATES}, got {_describe(state)}")
    return tuple(disabled)


def _parse_labels(value: object, field: Field, path: str) -> Labels:
    if value is None:
        labels: dict[str, object] = {}
    else:
        labels = _object(value, path)
    if set(labels) != set(field.labels):
        _fail(
            path,
            f"{field.name} has the labels {sorted(field.labels)}, got {sorted(labels)}",
        )
    return tuple(
        sorted(
            (name, _string(label, f"{path}.{name}", max_length=1024))
            for name, label in labels.items()
        )
    )


def _parse_sample(value: object, fields: Mapping[str, Field], path: str) -> Sample:
    document = _object(value, path)
    timestamp = _number(_require(document, "timestamp", path), f"{path}.timestamp")
    raw_elapsed = document.get("elapsed_seconds")
    elapsed = None
    if raw_elapsed is not None:
        elapsed = _number(raw_elapsed, f"{path}.elapsed_seconds")
        if elapsed < 0:
            _fail(f"{path}.elapsed_seconds", f"must not be negative, got {raw_elapsed}")
    values: Readings = {}
    for i, entry in enumerate(_list(_require(document, "values", path), f"{path}.values")):
        value_path = f"{path}.values[{i}]"
        item = _object(entry, value_path)
        name = _string(_require(item, "name", value_path), f"{value_path}.name", max_length=256)
        field = fields.get(name)
        if field is None:
            _fail(f"{value_path}.name", f"{name!r} is not in the batch's fields")
        labels = _parse_labels(item.get("labels"), field, f"{value_path}.labels")
        key = (name, labels)
        if key in values:
            _fail(value_path, f"{name}{dict(labels)} appears twice in one sample")
        values[key] = _number(_require(item, "value", value_path), f"{value_path}.value")
    return Sample(timestamp=timestamp, elapsed_seconds=elapsed, values=values)


def parse_batch(data: bytes, *, max_bytes: int = MAX_BATCH_BYTES) -> Batch:
    """Decode and validate one pushed batch (plain or gzip-compressed JSON).

    Args:
        data: the request body as received.
        max_bytes: the largest batch accepted, after decompression.

    Returns:
        The batch, with labels as sorted tuples (see `nodeprobe.model`).

    Raises:
        UnsupportedSchemaVersion: ``schema_version`` is missing or not one this reads.
        BatchTooLarge: the batch is larger than ``max_bytes`` (before or after inflating).
        BatchError: anything else that is malformed, naming where (``samples[3].values[7]
            .value: expected a number, got "abc"``).
    """
    if data[:2] == _GZIP_MAGIC:
        data = _decompress(data, max_bytes)
    elif len(data) > max_bytes:
        raise BatchTooLarge(f"the batch is {len(data)} bytes, more than {max_bytes}")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise BatchError(f"the batch is not JSON: {error}") from None
    top = _object(document, "batch")
    version = top.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
        raise UnsupportedSchemaVersion(
            f"schema_version {_describe(version)} is not supported; this build reads "
            f"version {SCHEMA_VERSION}"
        )
    fields = _parse_fields(_require(top, "fields", "batch"))
    raw_samples = _list(_require(top, "samples", "batch"), "samples")
    if len(raw_samples) > MAX_SAMPLES:
        raise BatchTooLarge(f"the batch has {len(raw_samples)} samples, more than {MAX_SAMPLES}")
    dropped = _require(top, "dropped_samples", "batch")
    if isinstance(dropped, bool) or not isinstance(dropped, int) or dropped < 0:
        _fail("dropped_samples", f"expected a count (0 or more), got {_describe(dropped)}")
    return Batch(
        schema_version=version,
        node=_string(_require(top, "node", "batch"), "node", max_length=253, empty=False),
        probe_version=_string(
            _require(top, "probe_version", "batch"), "probe_version", max_length=64
        ),
        sent_at=_number(_require(top, "sent_at", "batch"), "sent_at"),
        dropped_samples=dropped,
        fields=fields,
        disabled=_parse_disabled(top.get("disabled", [])),
        samples=tuple(
            _parse_sample(sample, fields, f"samples[{i}]") for i, sample in enumerate(raw_samples)
        ),
    )
