"""The pushed batch: what the probe sends is what the agent's validator reads back."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodeprobe import wire
from nodeprobe.collectors import ALL, Options
from nodeprobe.model import DisabledCollector, Field, Sample
from nodeprobe.wire import BatchError, BatchTooLarge, UnsupportedSchemaVersion, parse_batch
from tests.nodeprobe.conftest import ManualClock, registry_for

Tree = Callable[[str], Path]


def real_batch(tree: Tree) -> tuple[bytes, list[Sample], tuple[Field, ...]]:
    clock = ManualClock()
    registry = registry_for(tree("node"), clock, tuple(ALL), Options(top_processes=2))
    samples = [registry.collect()]
    clock.advance(15.0)
    samples.append(registry.collect())
    body = wire.encode_batch(
        node="worker-1",
        probe_version="0.1.0",
        fields=registry.fields,
        samples=samples,
        disabled=(DisabledCollector("sensors", "unavailable", "no sensor"),),
        sent_at=1_764_201_630.5,
        dropped_samples=3,
    )
    return body, samples, registry.fields


def minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": 1,
        "node": "worker-1",
        "probe_version": "0.1.0",
        "sent_at": 1.0,
        "dropped_samples": 0,
        "fields": {
            "load1": {"kind": "gauge", "unit": "tasks", "labels": [], "help": "Load."},
            "cpu_seconds_total": {
                "kind": "counter",
                "unit": "seconds",
                "labels": ["cpu", "mode"],
                "help": "CPU.",
            },
        },
        "disabled": [],
        "samples": [
            {
                "timestamp": 2.0,
                "elapsed_seconds": None,
                "values": [
                    {"name": "load1", "value": 0.5},
                    {
                        "name": "cpu_seconds_total",
                        "labels": {"cpu": "0", "mode": "user"},
                        "value": 9,
                    },
                ],
            }
        ],
    }
    document.update(changes)
    return document


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_a_real_collection_survives_the_trip_gzip_included(tree: Tree) -> None:
    body, samples, fields = real_batch(tree)
    batch = parse_batch(gzip.compress(body))
    assert (batch.schema_version, batch.node, batch.probe_version) == (1, "worker-1", "0.1.0")
    assert (batch.sent_at, batch.dropped_samples) == (1_764_201_630.5, 3)
    assert batch.disabled == (DisabledCollector("sensors", "unavailable", "no sensor"),)
    assert [f.name for f in batch.fields.values()] == [f.name for f in fields]
    assert batch.fields["cpu_seconds_total"].kind == "counter"
    assert batch.fields["cpu_usage_percent"].labels == ("mode",)
    assert [s.timestamp for s in batch.samples] == [s.timestamp for s in samples]
    assert batch.samples[0].elapsed_seconds is None
    assert batch.samples[1].elapsed_seconds == 15.0
    assert dict(batch.samples[1].values) == dict(samples[1].values)
    assert parse_batch(body) == batch, "plain JSON reads the same"


def test_an_unknown_schema_version_is_named_in_the_error() -> None:
    with pytest.raises(
        UnsupportedSchemaVersion,
        match="schema_version 2 is not supported; this build reads version 1",
    ):
        parse_batch(encoded(minimal(schema_version=2)))
    document = minimal()
    del document["schema_version"]
    with pytest.raises(UnsupportedSchemaVersion, match="schema_version null"):
        parse_batch(encoded(document))


def test_oversize_batches_are_refused_before_and_after_inflating() -> None:
    body = encoded(minimal())
    with pytest.raises(BatchTooLarge, match="more than 100"):
        parse_batch(body, max_bytes=100)
    bomb = gzip.compress(b" " * 50_000_000)  # 50 MB of spaces in about 50 KB
    assert len(bomb) < 100_000
    with pytest.raises(BatchTooLarge, match="inflates to more than 1048576 bytes"):
        parse_batch(bomb, max_bytes=1024 * 1024)


def sample_values(*values: dict[str, Any]) -> dict[str, Any]:
    return minimal(samples=[{"timestamp": 2.0, "elapsed_seconds": 1.0, "values": list(values)}])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{not json", "the batch is not JSON"),
        (b"\xff\xfe", "the batch is not JSON"),
        (gzip.compress(b"{}")[:-6], "truncated"),
        (encoded([1, 2]), "batch: expected an object, got a list"),  # type: ignore[arg-type]
        (encoded(minimal(node="")), "node: must not be empty"),
        (encoded(minimal(dropped_samples=-1)), "dropped_samples: expected a count"),
        (encoded(minimal(sent_at="now")), 'sent_at: expected a number, got "now"'),
        (
            encoded(minimal(fields={"Load": {"kind": "gauge", "labels": []}})),
            "fields.Load: a field name is lower-case",
        ),
        (
            encoded(minimal(fields={"x": {"kind": "histogram", "labels": []}})),
            "fields.x.kind: expected 'counter' or 'gauge', got \"histogram\"",
        ),
        (
            encoded(sample_values({"name": "load1", "value": "abc"})),
            'samples[0].values[0].value: expected a number, got "abc"',
        ),
        (
            encoded(sample_values({"name": "load1", "value": True})),
            "samples[0].values[0].value: expected a number, got true",
        ),
        (
            encoded(sample_values({"name": "load2", "value": 1})),
            "samples[0].values[0].name: 'load2' is not in the batch's fields",
        ),
        (
            encoded(
                sample_values({"name": "cpu_seconds_total", "labels": {"cpu": "0"}, "value": 1})
            ),
            "samples[0].values[0].labels: "
            "cpu_seconds_total has the labels ['cpu', 'mode'], got ['cpu']",
        ),
        (
            encoded(sample_values({"name": "load1", "value": 1}, {"name": "load1", "value": 2})),
            "samples[0].values[1]: load1{} appears twice in one sample",
        ),
        (
            encoded(minimal(samples=[{"timestamp": 2.0, "elapsed_seconds": -3, "values": []}])),
            "samples[0].elapsed_seconds: must not be negative",
        ),
        (
            encoded(minimal(disabled=[{"collector": "x", "state": "sleepy"}])),
            "disabled[0].state: expected one of",
        ),
        (b'{"schema_version": 1, "node": "n", "sent_at": 1e999}', "missing 'fields'"),
    ],
)
def test_malformed_batches_are_refused_with_the_place_and_the_problem(
    document: bytes, message: str
) -> None:
    with pytest.raises(BatchError) as caught:
        parse_batch(document)
    assert message in str(caught.value)


def test_a_non_finite_value_is_never_encoded() -> None:
    sample = Sample(1.0, None, {("load1", ()): math.nan})
    with pytest.raises(ValueError, match="JSON has no such number"):
        wire.encode_sample(sample)
    with pytest.raises(BatchError, match="expected a finite number"):
        parse_batch(encoded(minimal()).replace(b'"value": 0.5', b'"value": 1e999'))


def test_unknown_keys_are_ignored_within_a_version() -> None:
    document = minimal(compression_hint="zstd")
    document["samples"][0]["host_boot_id"] = "abc"
    batch = parse_batch(encoded(document))
    assert batch.samples[0].values[("load1", ())] == 0.5


# --- fuzzing: whatever arrives, the agent gets a batch or a BatchError, never a crash ----

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
_value = st.fixed_dictionaries(
    {"name": st.sampled_from(["load1", "cpu_seconds_total", "nope"]) | st.text(max_size=8)},
    optional={"labels": _json_values, "value": _json_values},
)
_batch = st.fixed_dictionaries(
    {
        "schema_version": st.just(1) | _json_values,
        "node": st.text(max_size=10) | _json_values,
        "samples": st.lists(
            st.fixed_dictionaries(
                {"timestamp": _json_values, "values": st.lists(_value, max_size=4) | _json_values},
                optional={"elapsed_seconds": _json_values},
            ),
            max_size=3,
        )
        | _json_values,
    },
    optional={
        "probe_version": _json_values,
        "sent_at": _json_values,
        "dropped_samples": _json_values,
        "fields": st.dictionaries(
            st.sampled_from(["load1", "cpu_seconds_total"]) | st.text(max_size=8),
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["gauge", "counter"]) | _json_values},
                optional={"unit": _json_values, "labels": _json_values, "help": _json_values},
            ),
            max_size=3,
        )
        | _json_values,
        "disabled": _json_values,
    },
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(document=_batch, compress=st.booleans())
def test_any_document_is_a_batch_or_a_clear_refusal(document: Any, compress: bool) -> None:
    try:
        body = json.dumps(document, allow_nan=True).encode()
    except (TypeError, ValueError):
        return
    if compress:
        body = gzip.compress(body)
    try:
        batch = parse_batch(body)
    except BatchError as error:
        assert str(error)  # says what is wrong
        return
    assert batch.node and all(math.isfinite(v) for s in batch.samples for v in s.values.values())


@settings(max_examples=300)
@given(data=st.binary(max_size=2000))
def test_any_bytes_are_a_batch_or_a_clear_refusal(data: bytes) -> None:
    for body in (data, gzip.compress(data), b"\x1f\x8b" + data):
        try:
            parse_batch(body)
        except BatchError as error:
            assert str(error)
