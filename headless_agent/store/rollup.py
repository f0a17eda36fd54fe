"""Rollups: min, average, max and last per time bucket, exact and composable.

A rollup point stores *additive* fields, so points can be merged into coarser buckets (a
chart of 30 days re-buckets 5-minute points into 30-minute ones) and still equal what a
scan of the raw samples would give:

- a **gauge** (memory used, temperature) keeps ``min, max, last, sum, count`` of its
  values; average = sum / count. Sums of decimal values are added as scaled integers, so
  they are exact and stay cheap to store.
- a **counter** (bytes sent, CPU seconds) is charted as a per-second rate. Each sample
  after the first gives one interval: ``increase`` (the difference, or the new value
  itself when the counter went down, i.e. was reset — Prometheus' rule) over ``dt``
  milliseconds. A point keeps the (increase, dt) *pair* of its slowest, fastest and last
  interval plus the sums of increases and of dt: every rate is then one exact division,
  min/max survive re-bucketing, and average rate = total increase / total time.

  An interval longer than ``max_gap_ms`` (the node was gone) gives no rate: a straight
  line across an outage would be invented data.

Fields are float64 matrices with NaN for "nothing in this bucket".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from headless_agent.store.codec import FloatArray, IntArray, decimal_scales, scaled_integers

GAUGE_FIELDS = ("min", "max", "last", "sum", "count")
COUNTER_FIELDS = (
    "min_increase",
    "min_dt",
    "max_increase",
    "max_dt",
    "last_increase",
    "last_dt",
    "sum_increase",
    "sum_dt",
    "count",
)
Bool = npt.NDArray[np.bool_]


def field_count(is_counter: bool) -> int:
    return len(COUNTER_FIELDS) if is_counter else len(GAUGE_FIELDS)


@dataclass(frozen=True, slots=True)
class Intervals:
    """Per sample (row) and series (column): the interval that ends at that sample."""

    increase: FloatArray
    dt: FloatArray  # milliseconds
    valid: Bool


def intervals(
    times_ms: IntArray,
    values: FloatArray,
    previous_ms: FloatArray,
    previous_values: FloatArray,
    max_gap_ms: float,
) -> Intervals:
    """Counter intervals of a rows × series matrix (NaN = no sample).

    ``previous_ms``/``previous_values`` (one per column, NaN if unknown) are each series'
    last sample before the first row, so the first interval of a window has a rate too.
    Increases of decimal counters are computed on scaled integers: exact.
    """
    rows, columns = values.shape
    if rows == 0:
        empty = np.zeros((0, columns))
        return Intervals(empty, empty, np.zeros((0, columns), dtype=bool))
    present = ~np.isnan(values)
    row_numbers = np.arange(rows)[:, None]
    last_present = np.maximum.accumulate(np.where(present, row_numbers, -1), axis=0)
    before = np.vstack([np.full((1, columns), -1), last_present[:-1]])
    has_before = before >= 0
    safe = np.where(has_before, before, 0)
    previous = np.where(
        has_before, np.take_along_axis(values, safe, axis=0), previous_values[None, :]
    )
    previous_time = np.where(has_before, times_ms[safe], previous_ms[None, :])
    dt = times_ms[:, None].astype(np.float64) - previous_time
    with np.errstate(invalid="ignore"):
        valid = present & ~np.isnan(previous) & (dt > 0) & (dt <= max_gap_ms)
    scales = decimal_scales(np.vstack([values, previous_values[None, :]]))
    exact = scales >= 0
    increase = np.full((rows, columns), np.nan)
    if exact.any():
        scale = scales[exact]
        now = scaled_integers(values[:, exact], scale)
        then = scaled_integers(previous[:, exact], scale)
        increase[:, exact] = np.where(now >= then, now - then, now) / (10.0**scale)[None, :]
    if (~exact).any():
        now_f, then_f = values[:, ~exact], previous[:, ~exact]
        with np.errstate(invalid="ignore"):
            increase[:, ~exact] = np.where(now_f >= then_f, now_f - then_f, now_f)
    increase[~valid] = np.nan
    return Intervals(increase, np.where(valid, dt, np.nan), valid)


def _bucket_starts(times_ms: IntArray, step_ms: int) -> tuple[IntArray, IntArray, IntArray]:
    """(bucket start times, first row of each bucket, bucket number of each row)."""
    bucket = times_ms // step_ms
    first = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    number = np.cumsum(np.concatenate([[0], (bucket[1:] != bucket[:-1]).astype(np.int64)]))
    return bucket[first] * step_ms, first, number


def _last_of(values: FloatArray, chosen: Bool, first: IntArray) -> FloatArray:
    rows = np.arange(values.shape[0])[:, None]
    last_row = np.maximum.reduceat(np.where(chosen, rows, -1), first, axis=0)
    picked = np.take_along_axis(values, np.maximum(last_row, 0), axis=0)
    return np.where(last_row >= 0, picked, np.nan)


def _pair_at_extreme(
    ratio: FloatArray,
    increase: FloatArray,
    dt: FloatArray,
    first: IntArray,
    number: IntArray,
    pick_max: bool,
) -> tuple[FloatArray, FloatArray]:
    """The (increase, dt) pair of the smallest (or largest) ratio in each bucket."""
    reduce = np.fmax if pick_max else np.fmin
    extreme = reduce.reduceat(ratio, first, axis=0)
    rows = ratio.shape[0]
    hit = ratio == extreme[number]
    row_numbers = np.arange(rows)[:, None]
    chosen = np.minimum.reduceat(np.where(hit, row_numbers, rows), first, axis=0)
    safe = np.minimum(chosen, rows - 1)
    found = chosen < rows
    return (
        np.where(found, np.take_along_axis(increase, safe, axis=0), np.nan),
        np.where(found, np.take_along_axis(dt, safe, axis=0), np.nan),
    )


def gauge_rollup(
    times_ms: IntArray, values: FloatArray, step_ms: int
) -> tuple[IntArray, FloatArray]:
    """Bucket starts and fields (buckets × series × 5, in ``GAUGE_FIELDS`` order)."""
    starts, first, _ = _bucket_starts(times_ms, step_ms)
    present = ~np.isnan(values)
    count = np.add.reduceat(present.astype(np.int64), first, axis=0).astype(np.float64)
    total = _exact_sums(values, first)
    fields = np.stack(
        [
            np.fmin.reduceat(values, first, axis=0),
            np.fmax.reduceat(values, first, axis=0),
            _last_of(values, present, first),
            total,
            count,
        ],
        axis=2,
    )
    fields[count == 0] = np.nan
    return starts, fields


def counter_rollup(
    times_ms: IntArray, spans: Intervals, step_ms: int
) -> tuple[IntArray, FloatArray]:
    """Bucket starts and fields (buckets × series × 9, in ``COUNTER_FIELDS`` order)."""
    starts, first, number = _bucket_starts(times_ms, step_ms)
    valid, increase, dt = spans.valid, spans.increase, spans.dt
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = increase / dt
    count = np.add.reduceat(valid.astype(np.int64), first, axis=0).astype(np.float64)
    min_pair = _pair_at_extreme(ratio, increase, dt, first, number, pick_max=False)
    max_pair = _pair_at_extreme(ratio, increase, dt, first, number, pick_max=True)
    sum_increase = _exact_sums(increase, first)
    fields = np.stack(
        [
            *min_pair,
            *max_pair,
            _last_of(increase, valid, first),
            _last_of(dt, valid, first),
            sum_increase,
            np.add.reduceat(np.where(valid, dt, 0.0), first, axis=0),
            count,
        ],
        axis=2,
    )
    fields[count == 0] = np.nan
    return starts, fields


def _exact_sums(values: FloatArray, first: IntArray) -> FloatArray:
    """Bucket sums of (buckets × series) values, added as scaled integers where they are
    decimals, so a sum of sums is still exact (and cheap to store)."""
    present = ~np.isnan(values)
    total = np.add.reduceat(np.where(present, values, 0.0), first, axis=0)
    scales = decimal_scales(values)
    exact = scales >= 0
    if exact.any():
        integers = scaled_integers(values[:, exact], scales[exact])
        total[:, exact] = (
            np.add.reduceat(integers, first, axis=0) / (10.0 ** scales[exact])[None, :]
        )
    return total


def merge(
    starts_ms: IntArray, fields: FloatArray, is_counter: bool, step_ms: int
) -> tuple[IntArray, FloatArray]:
    """Merge points (points × series × fields, one kind, sorted) into buckets of ``step_ms``.

    A point is absent where its count is NaN. Buckets where no series has a point are
    dropped; elsewhere absent series get NaN fields.
    """
    if len(starts_ms) == 0:
        return starts_ms, fields
    new_starts, first, number = _bucket_starts(starts_ms, step_ms)
    count = fields[:, :, -1]
    present = ~np.isnan(count)
    total = np.add.reduceat(np.where(present, count, 0.0), first, axis=0)
    rows = np.arange(len(starts_ms))[:, None]
    last_row = np.maximum.reduceat(np.where(present, rows, -1), first, axis=0)
    safe_last = np.maximum(last_row, 0)

    def last(field: int) -> FloatArray:
        picked = np.take_along_axis(fields[:, :, field], safe_last, axis=0)
        return np.where(last_row >= 0, picked, np.nan)

    def added(field: int) -> FloatArray:
        return np.add.reduceat(np.where(present, fields[:, :, field], 0.0), first, axis=0)

    if not is_counter:
        columns = [
            np.fmin.reduceat(fields[:, :, 0], first, axis=0),
            np.fmax.reduceat(fields[:, :, 1], first, axis=0),
            last(2),
            _exact_sums(np.where(present, fields[:, :, 3], np.nan), first),
            total,
        ]
    else:
        columns = []
        for increase_field, pick_max in ((0, False), (2, True)):
            increase = fields[:, :, increase_field]
            dt = fields[:, :, increase_field + 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = increase / dt
            columns += _pair_at_extreme(ratio, increase, dt, first, number, pick_max=pick_max)
        columns += [
            last(4),
            last(5),
            _exact_sums(np.where(present, fields[:, :, 6], np.nan), first),
            added(7),
            total,
        ]
    merged = np.stack(columns, axis=2)
    merged[total == 0] = np.nan
    keep = (total > 0).any(axis=1)
    return new_starts[keep], merged[keep]


@dataclass(frozen=True, slots=True)
class Display:
    """What a chart draws: one value per bucket for each band."""

    minimum: FloatArray
    average: FloatArray
    maximum: FloatArray
    last: FloatArray


def display(fields: FloatArray, is_counter: bool) -> Display:
    """Min/avg/max/last of rollup points; counters as rates per second."""
    if not is_counter:
        return Display(fields[:, 0], fields[:, 3] / fields[:, 4], fields[:, 1], fields[:, 2])
    per_second = 1000.0
    return Display(
        fields[:, 0] / fields[:, 1] * per_second,
        fields[:, 6] / fields[:, 7] * per_second,
        fields[:, 2] / fields[:, 3] * per_second,
        fields[:, 4] / fields[:, 5] * per_second,
    )
