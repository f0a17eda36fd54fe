"""Charts read rollups; they must say what a scan of the raw samples would say.

Property-based: random scrapes (decimal and arbitrary floats, gaps, missing values,
counter resets) go in as blocks or single scrapes, in order or with late batches; every
tier, read before and after the windows are sealed and the spans compacted, must equal a
brute-force aggregation of the raw data written here in plain Python.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headless_agent.store import (
    HistoryStore,
    NodeSampleBlock,
    NodeSamples,
    SeriesPoints,
    SeriesSelector,
)
from tests.store.conftest import FAST, TINY, Clock

START_MS = 1_700_000_000_000
GAP_MS = TINY.max_rate_gap * 1000


@dataclass
class Scrapes:
    times_ms: list[int]
    gauge: list[float | None]
    counter: list[float | None]
    batches: list[list[int]]  # row numbers per batch, in arrival order
    as_blocks: bool


def _decimal(digits: int) -> st.SearchStrategy[float]:
    return st.integers(-(10**7), 10**7).map(lambda i: i / 10**digits)


@st.composite
def scrapes(draw: st.DrawFn) -> Scrapes:
    count = draw(st.integers(2, 90))
    steps = draw(
        st.lists(
            st.one_of(st.integers(200, 1500), st.sampled_from([6_000, 11_000, 40_000])),
            min_size=count - 1,
            max_size=count - 1,
        )
    )
    times = [START_MS + draw(st.integers(0, 9_999))]
    for step in steps:
        times.append(times[-1] + step)
    digits = draw(st.integers(0, 3))
    floats = draw(st.booleans())
    value = (
        st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False) if floats else _decimal(digits)
    )
    gauge = [draw(value) if i == 0 or draw(st.integers(0, 9)) else None for i in range(count)]
    counter: list[float | None] = []
    total = draw(st.integers(0, 10**6)) / 10**digits
    for _ in range(count):
        if draw(st.integers(0, 14)) == 0:  # a reset: the counter starts again near zero
            total = draw(st.integers(0, 1000)) / 10**digits
        else:
            total = round(total + draw(st.integers(0, 50_000)) / 10**digits, digits)
        counter.append(total if draw(st.integers(0, 9)) else None)
    cuts = sorted(set(draw(st.lists(st.integers(1, count - 1), max_size=5))))
    edges = [0, *cuts, count]
    batches = [list(range(a, b)) for a, b in itertools.pairwise(edges)]
    if draw(st.booleans()):
        batches = draw(st.permutations(batches))  # some batches arrive late
    return Scrapes(times, gauge, counter, batches, draw(st.booleans()))


def _feed(store: HistoryStore, clock: Clock, data: Scrapes) -> None:
    newest = 0
    for rows in data.batches:
        newest = max(newest, max(data.times_ms[r] for r in rows))
        clock.now = newest / 1000 + 0.5
        if data.as_blocks:
            values = np.array(
                [[_nan(data.gauge[r]), _nan(data.counter[r])] for r in rows], dtype=np.float64
            )
            block = NodeSampleBlock(
                "node-1",
                np.array([data.times_ms[r] / 1000 for r in rows]),
                ["memory", "bytes_total"],
                values,
                frozenset({"bytes_total"}),
            )
            store.record_node_samples("c1", block)
        else:
            store.record_node_samples(
                "c1",
                [
                    NodeSamples(
                        "node-1",
                        data.times_ms[r] / 1000,
                        gauges={} if data.gauge[r] is None else {"memory": data.gauge[r]},
                        counters={}
                        if data.counter[r] is None
                        else {"bytes_total": data.counter[r]},
                    )
                    for r in rows
                    if data.gauge[r] is not None or data.counter[r] is not None
                ],
            )
        store.flush()


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _expected(
    times: list[int], values: list[float | None], is_counter: bool, step_ms: int | None
) -> dict[int, tuple[float, float, float, float]]:
    """Bucket start (ms) → (min, avg, max, last), by hand; counters as rates per second."""
    buckets: dict[int, list[tuple[float, float]]] = {}
    previous: tuple[int, float] | None = None
    for time_ms, value in zip(times, values, strict=True):
        if value is None:
            continue
        bucket = time_ms if step_ms is None else time_ms // step_ms * step_ms
        if not is_counter:
            buckets.setdefault(bucket, []).append((value, 1.0))
        elif previous is not None and 0 < time_ms - previous[0] <= GAP_MS:
            increase = value - previous[1] if value >= previous[1] else value
            buckets.setdefault(bucket, []).append((increase, float(time_ms - previous[0])))
        if is_counter:
            previous = (time_ms, value)
    result = {}
    for bucket, pairs in buckets.items():
        if is_counter:
            rates = [i / d * 1000 for i, d in pairs]
            average = sum(i for i, _ in pairs) / sum(d for _, d in pairs) * 1000
            result[bucket] = (min(rates), average, max(rates), rates[-1])
        else:
            plain = [v for v, _ in pairs]
            result[bucket] = (min(plain), sum(plain) / len(plain), max(plain), plain[-1])
    return result


def _compare(points: SeriesPoints, expected: dict[int, tuple[float, float, float, float]]) -> None:
    got_times = [round(t * 1000) for t in points.times]
    assert got_times == sorted(expected), "buckets differ"
    scale = max((abs(v) for band in expected.values() for v in band), default=1.0) + 1.0
    for position, bucket in enumerate(got_times):
        got = (
            points.minimum[position],
            points.average[position],
            points.maximum[position],
            points.last[position],
        )
        for name, want, have in zip(
            ("min", "avg", "max", "last"), expected[bucket], got, strict=True
        ):
            assert math.isclose(want, have, rel_tol=1e-9, abs_tol=1e-9 * scale), (
                f"{name} of bucket {bucket}: expected {want!r}, got {have!r}"
            )


def _check_every_tier(store: HistoryStore, data: Scrapes) -> None:
    start, end = data.times_ms[0] / 1000, data.times_ms[-1] / 1000
    for tier in TINY.tiers:
        step = None if tier is TINY.raw else tier.step_ms
        result = store.query_series(
            SeriesSelector("c1"), start, end, max_points=10**7, resolution=tier.name
        )
        by_name = {p.series.name: p for p in result}
        if "memory" in by_name:
            _compare(by_name["memory"], _expected(data.times_ms, data.gauge, False, step))
            if step is None:  # raw gauges come back bit for bit
                stored = [v for v in data.gauge if v is not None]
                assert by_name["memory"].average.tolist() == stored
        if "bytes_total" in by_name:
            _compare(by_name["bytes_total"], _expected(data.times_ms, data.counter, True, step))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=scrapes())
def test_rollups_equal_brute_force_before_and_after_sealing(
    tmp_path_factory: pytest.TempPathFactory, data: Scrapes
) -> None:
    path: Path = tmp_path_factory.mktemp("rollups") / "history.sqlite3"
    clock = Clock()
    with HistoryStore.open(path, layout=TINY, clock=clock, options=FAST) as store:
        _feed(store, clock, data)
        _check_every_tier(store, data)  # partly in the head, partly sealed, not compacted
        clock.now = data.times_ms[-1] / 1000 + 1000
        store.settle()
        _check_every_tier(store, data)  # sealed, compacted, cascaded up every tier
    with HistoryStore.open(path, layout=TINY, clock=clock, options=FAST) as reopened:
        _check_every_tier(reopened, data)  # and read back from the file


def test_a_counter_reset_never_gives_a_negative_rate(store: HistoryStore, clock: Clock) -> None:
    clock.now = 1_700_000_100.0
    values = [100.0, 400.0, 50.0, 350.0]  # the node rebooted between 400 and 50
    store.record_node_samples(
        "c1",
        [
            NodeSamples("n", 1_700_000_000.0 + 15 * i, counters={"rx_bytes_total": v})
            for i, v in enumerate(values)
        ],
    )
    store.flush()
    (points,) = store.query_series(
        SeriesSelector("c1"), 1_700_000_000.0, 1_700_000_060.0, resolution="raw"
    )
    # 300 B in 15 s, then the reset: the new counter's 50 B count as the increase, then 300.
    assert points.average.tolist() == pytest.approx([20.0, 50 / 15, 20.0])
    assert (points.minimum >= 0).all()


def test_an_outage_longer_than_the_gap_gives_no_rate(store: HistoryStore, clock: Clock) -> None:
    clock.now = 1_700_010_000.0
    store.record_node_samples(
        "c1",
        [
            NodeSamples("n", 1_700_000_000.0, counters={"x_total": 0.0}),
            NodeSamples("n", 1_700_000_015.0, counters={"x_total": 15.0}),
            # 20 minutes without a sample: the 1,200 units are not spread over the gap
            NodeSamples("n", 1_700_001_215.0, counters={"x_total": 1215.0}),
            NodeSamples("n", 1_700_001_230.0, counters={"x_total": 1230.0}),
        ],
    )
    store.flush()
    (points,) = store.query_series(
        SeriesSelector("c1"), 1_700_000_000.0, 1_700_001_300.0, resolution="raw"
    )
    assert points.times.tolist() == [1_700_000_015.0, 1_700_001_230.0]
    assert points.average.tolist() == [1.0, 1.0]
