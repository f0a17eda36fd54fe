"""Reading node metrics: pick a resolution, gather the points, shape them for a chart.

A query names a set of series and a time range. The resolution is chosen so each series
gets at most ``max_points`` points: of the tiers that still hold data as old as the
range's start (by their retention), the one that gives the finest buckets within the
budget wins, ties going to the coarser tier (fewer bytes to read). A 24 h chart reads the
1-min tier (1,440 points); a 30-day chart reads 5-min points merged into 30-min buckets
(1,440 points) rather than 720 hourly ones.

Whatever a tier has not built yet (the last hours, still in pieces of a finer tier or in
the head) is computed from the tier below on the fly, with the same code the writer uses,
so a chart always reaches up to the newest sample.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np

from headless_agent.store.codec import ChunkReader, DecodedChunk, FloatArray
from headless_agent.store.rollup import display, intervals
from headless_agent.store.samples import SeriesInfo, SeriesKind, SeriesPoints, SeriesSelector
from headless_agent.store.schema import SeriesLayout, chunk_table
from headless_agent.store.series_writing import (
    MaxAge,
    merge_points,
    metrics_kind,
    rollup_from_raw,
    union,
)


@dataclass(frozen=True, slots=True)
class _Series:
    id: int
    source: int
    node: str
    name: str
    is_counter: bool


@dataclass(frozen=True, slots=True)
class Resolution:
    """The tier a query reads, and how many of its buckets go into one chart point."""

    level: int
    factor: int
    step_ms: int


def _matches(value: str, patterns: tuple[str, ...] | None) -> bool:
    return patterns is None or any(fnmatchcase(value, p) for p in patterns)


def _gaps(start: int, end: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of [start, end) that no (sorted) covered range touches."""
    gaps, cursor = [], start
    for low, high in sorted(covered):
        if low > cursor:
            gaps.append((cursor, min(low, end)))
        cursor = max(cursor, high)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return [(a, b) for a, b in gaps if a < b]


class SeriesReader:
    def __init__(self, layout: SeriesLayout, clock: Callable[[], float], max_age: MaxAge) -> None:
        self.layout = layout
        self._clock = clock
        self._max_age = max_age
        self._gap = layout.max_rate_gap * 1000

    def series(
        self, db: sqlite3.Connection, cluster_id: int, selector: SeriesSelector
    ) -> list[_Series]:
        rows = db.execute(
            "SELECT s.id, s.source_id, src.node, s.name, s.kind FROM series s "
            "JOIN series_sources src ON src.id = s.source_id WHERE src.cluster_id = ? "
            "ORDER BY src.node, s.name",
            (cluster_id,),
        )
        return [
            _Series(series_id, source, node, name, kind == SeriesKind.COUNTER.value)
            for series_id, source, node, name, kind in rows
            if _matches(node, selector.nodes) and _matches(name, selector.names)
        ]

    def choose(
        self, start: float, end: float, max_points: int, tier: str | None = None
    ) -> Resolution:
        """The tier and merge factor for a chart of [start, end] (see the module docstring);
        ``tier`` forces a tier (the factor still keeps to ``max_points``)."""
        span_ms = max((end - start) * 1000, 1.0)
        budget = max(max_points - 2, 1)  # bucket edges can add one point at each end
        if tier is not None:
            level = [t.name for t in self.layout.tiers].index(tier)
            step = self.layout.tiers[level].step_ms
            factor = max(1, math.ceil(span_ms / (step * budget)))
            return Resolution(level, factor, step * factor)
        now = self._clock()
        best: Resolution | None = None
        for level, spec in enumerate(self.layout.tiers):
            age = self._max_age(metrics_kind(spec.name))
            if age is not None and start < now - age:
                continue
            factor = max(1, math.ceil(span_ms / (spec.step_ms * budget)))
            choice = Resolution(level, factor, spec.step_ms * factor)
            if best is None or choice.step_ms <= best.step_ms:
                best = choice
        if best is None:  # older than anything kept: the coarsest tier has what is left
            level = len(self.layout.tiers) - 1
            step = self.layout.tiers[level].step_ms
            factor = max(1, math.ceil(span_ms / (step * budget)))
            best = Resolution(level, factor, step * factor)
        return best

    def query(
        self,
        db: sqlite3.Connection,
        cluster: str,
        cluster_id: int,
        selector: SeriesSelector,
        start: float,
        end: float,
        max_points: int,
        tier: str | None = None,
    ) -> list[SeriesPoints]:
        if end < start:
            raise ValueError("the range ends before it starts")
        wanted = self.series(db, cluster_id, selector)
        resolution = self.choose(start, end, max_points, tier)
        chosen = self.layout.tiers[resolution.level]
        age = self._max_age(metrics_kind(chosen.name))
        oldest = (self._clock() - age) * 1000 if age is not None else -math.inf
        step = resolution.step_ms
        low = math.floor(start * 1000 / step) * step
        high = math.floor(end * 1000 / step) * step + step
        by_source: dict[int, list[_Series]] = {}
        for series in wanted:
            by_source.setdefault(series.source, []).append(series)
        results: dict[int, SeriesPoints] = {}
        for source, members in by_source.items():
            ids = [s.id for s in members]
            kinds = {s.id: s.is_counter for s in members}
            if resolution.level == 0 and resolution.factor == 1:
                points = self._raw(db, source, ids, low, high)
                raw_view = True
            elif resolution.level == 0:
                points = self._rolled_from_raw(db, source, ids, kinds, low, high, step)
                raw_view = False
            else:
                points = self._tier(db, resolution.level, source, ids, kinds, low, high)
                if resolution.factor > 1:
                    points = merge_points(points, kinds, step)
                raw_view = False
            offsets = points.offsets()
            for series in members:
                info = SeriesInfo(
                    cluster,
                    series.node,
                    series.name,
                    SeriesKind.COUNTER if series.is_counter else SeriesKind.GAUGE,
                )
                results[series.id] = _shape(
                    info,
                    chosen.name,
                    None if raw_view else step / 1000,
                    points,
                    offsets.get(series.id),
                    series.is_counter,
                    raw_view,
                    (max(low if not raw_view else start * 1000, oldest), end * 1000),
                    self._gap,
                )
        return [results[s.id] for s in wanted]

    # --- gathering -------------------------------------------------------------------------

    def _raw(
        self, db: sqlite3.Connection, source: int, ids: list[int], start: int, end: int
    ) -> DecodedChunk:
        """Raw samples in [start - max_rate_gap, end): sealed chunks and the head."""
        low = int(start - self._gap)
        parts = []
        # A chunk is never longer than its tier's span: bound ``start`` on both sides so
        # the index, not a walk through older history, finds the overlapping chunks.
        for (data,) in db.execute(
            "SELECT data FROM chunks_raw WHERE source_id = ? AND start < ? AND start > ? "
            "AND end > ? ORDER BY start",
            (source, end, low - self.layout.raw.span_ms, low),
        ):
            reader = ChunkReader.of(data)
            fields = reader.fields(ids)
            if fields:
                parts.append(_decoded(reader.times(), fields))
        head = db.execute(
            "SELECT ts, series_id, value FROM head_samples "
            "WHERE source_id = ? AND ts >= ? AND ts < ?",
            (source, low, end),
        ).fetchall()
        wanted = set(ids)
        head = [row for row in head if row[1] in wanted]
        if head:
            data = np.array(head, dtype=np.float64)
            times, row_of = np.unique(data[:, 0].astype(np.int64), return_inverse=True)
            series, column_of = np.unique(data[:, 1].astype(np.int64), return_inverse=True)
            values = np.full((len(times), len(series)), np.nan)
            values[row_of, column_of] = data[:, 2]
            parts.append(DecodedChunk(times, series.tolist(), [1] * len(series), values))
        merged = union(parts)
        keep = merged.times >= low
        return DecodedChunk(
            merged.times[keep], merged.series_ids, merged.field_counts, merged.columns[keep]
        )

    def _rolled_from_raw(
        self,
        db: sqlite3.Connection,
        source: int,
        ids: list[int],
        kinds: dict[int, bool],
        start: int,
        end: int,
        step: int,
    ) -> DecodedChunk:
        raw = self._raw(db, source, ids, start, end)
        if not raw.series_ids:
            return raw
        is_counter = np.array([kinds[s] for s in raw.series_ids], dtype=bool)
        nothing = np.full(len(raw.series_ids), np.nan)
        points = rollup_from_raw(
            raw.times, raw.series_ids, raw.columns, is_counter, nothing, nothing, step, self._gap
        )
        inside = points.times >= start
        return DecodedChunk(
            points.times[inside], points.series_ids, points.field_counts, points.columns[inside]
        )

    def _tier(
        self,
        db: sqlite3.Connection,
        level: int,
        source: int,
        ids: list[int],
        kinds: dict[int, bool],
        start: int,
        end: int,
    ) -> DecodedChunk:
        """A tier's points in [start, end); ranges it lacks come from the tier below."""
        tier = self.layout.tiers[level]
        parts, covered = [], []
        for chunk_start, chunk_end, data in db.execute(
            f"SELECT start, end, data FROM {chunk_table(tier.name)} "
            "WHERE source_id = ? AND start < ? AND start > ? AND end > ? ORDER BY start",
            (source, end, start - tier.span_ms, start),
        ):
            covered.append((chunk_start, chunk_end))
            reader = ChunkReader.of(data)
            fields = reader.fields(ids)
            if fields:
                parts.append(_decoded(reader.times(), fields))
        for gap_start, gap_end in _gaps(start, end, covered):
            if level == 1:
                lower = self._rolled_from_raw(
                    db, source, ids, kinds, gap_start, gap_end, tier.step_ms
                )
            else:
                lower = self._tier(db, level - 1, source, ids, kinds, gap_start, gap_end)
                lower = merge_points(lower, kinds, tier.step_ms) if lower.series_ids else lower
            if lower.series_ids:
                parts.append(lower)
        merged = union(parts)
        inside = (merged.times >= start) & (merged.times < end)
        return DecodedChunk(
            merged.times[inside], merged.series_ids, merged.field_counts, merged.columns[inside]
        )


def _decoded(times: np.ndarray, fields: dict[int, FloatArray]) -> DecodedChunk:
    ids = list(fields)
    return DecodedChunk(
        times, ids, [fields[s].shape[1] for s in ids], np.hstack([fields[s] for s in ids])
    )


def _shape(
    info: SeriesInfo,
    resolution: str,
    step: float | None,
    points: DecodedChunk,
    where: tuple[int, int] | None,
    is_counter: bool,
    raw_view: bool,
    bounds: tuple[float, float],
    max_gap_ms: float,
) -> SeriesPoints:
    empty = np.zeros(0)
    if where is None:
        return SeriesPoints(info, resolution, step, empty, empty, empty, empty, empty)
    column, count = where
    fields = points.columns[:, column : column + count]
    times = points.times
    if raw_view:
        values = fields[:, 0]
        present = ~np.isnan(values)
        times, values = times[present], values[present]
        if is_counter:
            nothing = np.full(1, np.nan)
            spans = intervals(times, values[:, None], nothing, nothing, max_gap_ms)
            values = (spans.increase / spans.dt * 1000.0)[:, 0]
        keep = ~np.isnan(values) & (times >= bounds[0]) & (times <= bounds[1])
        values = values[keep]
        shown = times[keep] / 1000.0
        return SeriesPoints(info, resolution, None, shown, values, values, values, values)
    present = ~np.isnan(fields[:, -1]) & (times >= bounds[0]) & (times <= bounds[1])
    bands = display(fields[present], is_counter)
    return SeriesPoints(
        info,
        resolution,
        step,
        times[present] / 1000.0,
        bands.minimum,
        bands.average,
        bands.maximum,
        bands.last,
    )
