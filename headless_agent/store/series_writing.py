"""Writing node metrics: the head, sealing raw windows, rollups and compaction.

Time is cut into raw *windows* (2 h by default), aligned to the epoch. A window's samples
first go to the *head*: one small row each in ``head_samples``, committed with the batch
they came in (so a killed process loses at most that batch). Once a window is over — its
node has sent samples ``seal_delay`` past its end, or (a node gone quiet) our clock is
``idle_seal_delay`` past it — it is *sealed*: its samples become one chunk in
``chunks_raw`` and its head rows are deleted. A whole window that is already over when it
arrives (an agent filling a gap, a backfill) skips the head.

Rollups are built incrementally, each level once from the level below, never by
rescanning history:

- sealing a raw window computes the first rollup tier (1 min) for that window, from the
  window's samples and each counter's last sample before it, and writes it as a *piece*;
- when a tier's span is complete (12 h of 1-min pieces), its pieces are *compacted* into
  one chunk, and the next tier's points for that span are merged from them (5-min points
  from 1-min points, exact because points keep additive fields) and written as a piece
  of the next tier; and so on up.

Samples that arrive for a window already sealed wait in the head too, and are merged
into it at the next maintenance, all of them at once; the window's rollups are recomputed
and carried into every coarser tier that already covers it. A query finds whatever is not
built yet one level down (see ``series_reading``).

All methods run on the writer thread inside its open transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from headless_agent.store.codec import (
    FAST_DEFLATE_LEVEL,
    ChunkReader,
    DecodedChunk,
    FloatArray,
    IntArray,
    encode_chunk,
)
from headless_agent.store.rollup import counter_rollup, field_count, gauge_rollup, intervals, merge
from headless_agent.store.samples import NodeSampleBlock, SeriesKind
from headless_agent.store.schema import SeriesLayout, TierSpec, chunk_table

log = logging.getLogger(__name__)

MaxAge = Callable[[str], float | None]


def metrics_kind(tier: str) -> str:
    """The retention kind of a tier ("metrics.raw", "metrics.1m", ...)."""
    return f"metrics.{tier}"


def union(parts: Sequence[DecodedChunk]) -> DecodedChunk:
    """Points of several chunks as one: rows sorted by time, series by id; where two parts
    have the same time and series, the later part wins. Rows empty everywhere go."""
    if not parts:
        return DecodedChunk(np.zeros(0, np.int64), [], [], np.zeros((0, 0)))
    times = np.unique(np.concatenate([p.times for p in parts]))
    counts: dict[int, int] = {}
    for part in parts:
        for series_id, count in zip(part.series_ids, part.field_counts, strict=True):
            counts.setdefault(series_id, count)
    series_ids = sorted(counts)
    offsets = np.cumsum([0] + [counts[s] for s in series_ids])
    where = {s: int(offsets[i]) for i, s in enumerate(series_ids)}
    columns = np.full((len(times), int(offsets[-1])), np.nan)
    for part in parts:
        rows = np.searchsorted(times, part.times)
        for series_id, (column, count) in part.offsets().items():
            block = part.columns[:, column : column + count]
            present = ~np.isnan(block[:, -1])
            target = where[series_id]
            columns[rows[present], target : target + count] = block[present]
    keep = ~np.isnan(columns).all(axis=1) if columns.shape[1] else np.zeros(len(times), bool)
    return DecodedChunk(times[keep], series_ids, [counts[s] for s in series_ids], columns[keep])


def _without_range(chunk: DecodedChunk, start: int, end: int) -> DecodedChunk:
    keep = (chunk.times < start) | (chunk.times >= end)
    return DecodedChunk(
        chunk.times[keep], chunk.series_ids, chunk.field_counts, chunk.columns[keep]
    )


def rollup_from_raw(
    times: IntArray,
    series_ids: Sequence[int],
    values: FloatArray,
    is_counter: np.ndarray,
    previous_ms: FloatArray,
    previous_values: FloatArray,
    step_ms: int,
    max_gap_ms: float,
) -> DecodedChunk:
    """The rollup points of raw samples (rows × series), every series' fields in order."""
    if len(times) == 0:
        counts = [field_count(bool(c)) for c in is_counter]
        return DecodedChunk(
            np.zeros(0, np.int64), list(series_ids), counts, np.zeros((0, sum(counts)))
        )
    parts: dict[int, FloatArray] = {}
    starts = np.zeros(0, np.int64)
    gauges = np.flatnonzero(~is_counter)
    counters = np.flatnonzero(is_counter)
    if gauges.size:
        starts, fields = gauge_rollup(times, values[:, gauges], step_ms)
        for position, column in enumerate(gauges):
            parts[int(column)] = fields[:, position, :]
    if counters.size:
        spans = intervals(
            times, values[:, counters], previous_ms[counters], previous_values[counters], max_gap_ms
        )
        starts, fields = counter_rollup(times, spans, step_ms)
        for position, column in enumerate(counters):
            parts[int(column)] = fields[:, position, :]
    ordered = [parts[c] for c in range(len(series_ids))]
    matrix = np.hstack(ordered) if ordered else np.zeros((len(starts), 0))
    keep = ~np.isnan(matrix).all(axis=1)
    return DecodedChunk(starts[keep], list(series_ids), [p.shape[1] for p in ordered], matrix[keep])


def merge_points(chunk: DecodedChunk, kinds: dict[int, bool], step_ms: int) -> DecodedChunk:
    """Rollup points merged into coarser buckets (gauges and counters apart)."""
    results: list[tuple[IntArray, list[int], FloatArray]] = []
    for is_counter in (False, True):
        chosen = [s for s in chunk.series_ids if kinds[s] == is_counter]
        if not chosen:
            continue
        offsets = chunk.offsets()
        fields = field_count(is_counter)
        stacked = np.stack(
            [chunk.columns[:, offsets[s][0] : offsets[s][0] + fields] for s in chosen], axis=1
        )
        starts, merged = merge(chunk.times, stacked, is_counter, step_ms)
        results.append((starts, chosen, merged.reshape(len(starts), len(chosen) * fields)))
    parts = [
        DecodedChunk(starts, chosen, [field_count(kinds[s]) for s in chosen], matrix)
        for starts, chosen, matrix in results
    ]
    return union(parts) if len(parts) > 1 else (parts[0] if parts else union([]))


@dataclass
class _LastSamples:
    """Each counter's last sample as of the newest sealed window of one source."""

    window: int
    samples: dict[int, tuple[int, float]]


class SeriesWriter:
    """The writer thread's half of the time series store (see the module docstring)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        layout: SeriesLayout,
        clock: Callable[[], float],
        max_age: MaxAge,
    ) -> None:
        self._db = connection
        self.layout = layout
        self._window = layout.raw.span_ms
        self._delay = round(layout.seal_delay * 1000)
        self._idle_delay = round(max(layout.idle_seal_delay, layout.seal_delay) * 1000)
        self._max_gap = layout.max_rate_gap * 1000
        self._clock = clock
        self._max_age = max_age
        self.accepted_samples = 0
        self._mismatched_kinds: set[int] = set()
        self.reset()

    def reset(self) -> None:
        """Forget every cache (after a rolled-back transaction); all reload from the file."""
        self._sources: dict[tuple[int, str], int] = {}
        self._series: dict[int, dict[str, int]] = {}
        self._counter: dict[int, bool] = {}
        self._head: dict[int, set[int]] | None = None
        self._latest: dict[int, int] = {}
        self._newest_sealed: dict[int, int] = {}
        self._last: dict[int, _LastSamples] = {}
        self._marks: set[tuple[int, int, int]] = set()
        self._swept_at = -1
        self._open_spans: set[tuple[int, int, int]] | None = None

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)

    # --- catalogue -------------------------------------------------------------------------

    def source_id(self, cluster_id: int, node: str) -> int:
        key = (cluster_id, node)
        found = self._sources.get(key)
        if found is None:
            self._db.execute(
                "INSERT OR IGNORE INTO series_sources (cluster_id, node) VALUES (?, ?)", key
            )
            (found,) = self._db.execute(
                "SELECT id FROM series_sources WHERE cluster_id = ? AND node = ?", key
            ).fetchone()
            self._sources[key] = found
        return found

    def _load_series(self, source: int) -> dict[str, int]:
        known = self._series.get(source)
        if known is None:
            known = {}
            for series_id, name, kind in self._db.execute(
                "SELECT id, name, kind FROM series WHERE source_id = ?", (source,)
            ):
                known[name] = series_id
                self._counter[series_id] = kind == SeriesKind.COUNTER.value
            self._series[source] = known
        return known

    def _series_ids(self, source: int, names: Sequence[str], counters: frozenset[str]) -> list[int]:
        known = self._load_series(source)
        result = []
        for name in names:
            is_counter = name in counters
            series_id = known.get(name)
            if series_id is None:
                kind = SeriesKind.COUNTER if is_counter else SeriesKind.GAUGE
                cursor = self._db.execute(
                    "INSERT INTO series (source_id, name, kind, unit) VALUES (?, ?, ?, '')",
                    (source, name, kind.value),
                )
                series_id = int(cursor.lastrowid or 0)
                known[name] = series_id
                self._counter[series_id] = is_counter
            elif self._counter[series_id] != is_counter and series_id not in self._mismatched_kinds:
                # A series keeps the kind it was first stored with: its chunks depend on it.
                self._mismatched_kinds.add(series_id)
                log.warning("series %s changed kind; it stays as first stored", name)
            result.append(series_id)
        return result

    def _is_counter(self, series_id: int, source: int) -> bool:
        if series_id not in self._counter:
            self._series.pop(source, None)
            self._load_series(source)
        return self._counter.get(series_id, False)

    # --- ingest ----------------------------------------------------------------------------

    def _head_windows(self) -> dict[int, set[int]]:
        if self._head is None:
            self._head = {}
            for source, window, latest in self._db.execute(
                "SELECT source_id, (ts / ?) * ?, MAX(ts) FROM head_samples GROUP BY 1, 2",
                (self._window, self._window),
            ):
                self._head.setdefault(source, set()).add(window)
                self._latest[source] = max(self._latest.get(source, 0), latest)
        return self._head

    def add_block(self, cluster_id: int, block: NodeSampleBlock) -> None:
        """Route a block's samples: to the head, or sealed straight into chunks."""
        source = self.source_id(cluster_id, block.node)
        series_ids = self._series_ids(source, block.names, block.counters)
        times_f = np.rint(np.asarray(block.timestamps, dtype=np.float64) * 1000.0)
        values = np.array(block.values, dtype=np.float64, copy=True)
        values[~np.isfinite(values)] = np.nan
        keep = np.isfinite(times_f) & (times_f > 0) & ~np.isnan(values).all(axis=1)
        if not keep.any():
            return
        times, values = _collapse_duplicates(times_f[keep].astype(np.int64), values[keep])
        now = self._now_ms()
        head = self._head_windows()
        latest = max(self._latest.get(source, 0), int(times[-1]))
        self._latest[source] = latest
        windows = times // self._window * self._window
        edges = np.flatnonzero(np.diff(windows)) + 1
        for rows in np.split(np.arange(len(times)), edges):
            window = int(windows[rows[0]])
            part_times, part_values = times[rows], values[rows]
            # Samples older than raw retention still build their rollups (a laptop closed
            # for days gets its agent's buffer back); their raw chunk goes at the next
            # retention pass.
            self.accepted_samples += int((~np.isnan(part_values)).sum())
            if (
                window not in head.get(source, ())
                and window + self._window + self._delay <= max(latest, now)
                and not self._is_sealed(source, window)
            ):
                # A whole window from the past (a backfill, an agent filling a gap)
                self._seal_head_before(source, window)
                self._seal(source, window, part_times, series_ids, part_values)
            else:
                # Live samples, and late ones for a sealed window: those are merged into
                # it at the next maintenance, all of a batch at once
                self._to_head(source, part_times, series_ids, part_values)
                head.setdefault(source, set()).add(window)

    def _to_head(
        self, source: int, times: IntArray, series_ids: Sequence[int], values: FloatArray
    ) -> None:
        rows, columns = np.nonzero(~np.isnan(values))
        ids = np.asarray(series_ids, dtype=np.int64)[columns]
        self._db.executemany(
            "INSERT OR REPLACE INTO head_samples (source_id, ts, series_id, value) "
            "VALUES (?, ?, ?, ?)",
            zip(
                [source] * len(rows),
                times[rows].tolist(),
                ids.tolist(),
                values[rows, columns].tolist(),
                strict=True,
            ),
        )

    def _is_sealed(self, source: int, window: int) -> bool:
        newest = self._newest_sealed.get(source)
        if newest is None:
            row = self._db.execute(
                "SELECT start FROM chunks_raw WHERE source_id = ? ORDER BY start DESC LIMIT 1",
                (source,),
            ).fetchone()
            newest = self._newest_sealed[source] = row[0] if row else -1
        if window > newest:
            return False
        if window == newest:
            return True
        return (
            self._db.execute(
                "SELECT 1 FROM chunks_raw WHERE source_id = ? AND start = ?", (source, window)
            ).fetchone()
            is not None
        )

    # --- sealing ---------------------------------------------------------------------------

    def _seal_head_before(self, source: int, window: int) -> None:
        for earlier in sorted(w for w in self._head_windows().get(source, ()) if w < window):
            self._seal_from_head(source, earlier)

    def _seal_from_head(self, source: int, window: int) -> None:
        bounds = (source, window, window + self._window)
        rows = self._db.execute(
            "SELECT ts, series_id, value FROM head_samples "
            "WHERE source_id = ? AND ts >= ? AND ts < ?",
            bounds,
        ).fetchall()
        self._db.execute(
            "DELETE FROM head_samples WHERE source_id = ? AND ts >= ? AND ts < ?", bounds
        )
        head = self._head_windows().get(source)
        if head is not None:
            head.discard(window)
        if not rows:
            return
        data = np.array(rows, dtype=np.float64)
        times, row_of = np.unique(data[:, 0].astype(np.int64), return_inverse=True)
        series, column_of = np.unique(data[:, 1].astype(np.int64), return_inverse=True)
        values = np.full((len(times), len(series)), np.nan)
        values[row_of, column_of] = data[:, 2]
        self._seal(source, window, times, series.tolist(), values)

    def _seal(
        self,
        source: int,
        window: int,
        times: IntArray,
        series_ids: Sequence[int],
        values: FloatArray,
    ) -> None:
        """Write one raw window (merged with what is already sealed) and its first rollup."""
        end = window + self._window
        raw = DecodedChunk(times, list(series_ids), [1] * len(series_ids), values)
        existing = self._read_covering(self.layout.raw, source, window, end)
        if existing is not None:
            raw = union([existing[1], raw])
        late = existing is not None or window < self._newest_sealed.get(source, -1)
        self._db.execute(
            "INSERT INTO chunks_raw (source_id, start, end, rows, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (source_id, start) DO UPDATE SET "
            "end = excluded.end, rows = excluded.rows, data = excluded.data",
            (source, window, end, len(raw.times), _encode(raw)),
        )
        self._newest_sealed[source] = max(self._newest_sealed.get(source, -1), window)
        is_counter = np.array([self._is_counter(s, source) for s in raw.series_ids], dtype=bool)
        previous_ms, previous_values = self._previous(source, window, raw.series_ids, is_counter)
        if self.layout.rollups:
            first = self.layout.rollups[0]
            points = rollup_from_raw(
                raw.times,
                raw.series_ids,
                raw.columns,
                is_counter,
                previous_ms,
                previous_values,
                first.step_ms,
                self._max_gap,
            )
            # Without an earlier raw chunk these are all the window's samples we have:
            # unless retention already took that chunk (its rollups stay), then they are
            # late additions to what the rollups hold.
            self._write_range(1, source, window, end, points, keep_others=existing is None)
        self._remember_last(source, window, raw, is_counter, previous_ms, previous_values)
        if late:
            self._rebuild_rollups(source, end)

    def _rebuild_rollups(self, source: int, window: int) -> None:
        """Recompute a sealed window's first rollup tier: samples that came late into the
        window before it may change the rate of its first interval."""
        if not self.layout.rollups:
            return
        row = self._db.execute(
            "SELECT data FROM chunks_raw WHERE source_id = ? AND start = ?", (source, window)
        ).fetchone()
        if row is None:
            return
        raw = ChunkReader.of(row[0]).decode()
        is_counter = np.array([self._is_counter(s, source) for s in raw.series_ids], dtype=bool)
        if not is_counter.any():
            return
        previous_ms, previous_values = self._previous(source, window, raw.series_ids, is_counter)
        points = rollup_from_raw(
            raw.times,
            raw.series_ids,
            raw.columns,
            is_counter,
            previous_ms,
            previous_values,
            self.layout.rollups[0].step_ms,
            self._max_gap,
        )
        self._write_range(1, source, window, window + self._window, points)

    def _previous(
        self, source: int, window: int, series_ids: Sequence[int], is_counter: np.ndarray
    ) -> tuple[FloatArray, FloatArray]:
        """Each counter's last sample before ``window`` (NaN where unknown)."""
        previous_ms = np.full(len(series_ids), np.nan)
        previous_values = np.full(len(series_ids), np.nan)
        if not is_counter.any():
            return previous_ms, previous_values
        cached = self._last.get(source)
        if cached is not None and cached.window < window:
            samples = cached.samples
        else:
            samples = self._last_samples_before(source, window)
        for position, series_id in enumerate(series_ids):
            found = samples.get(series_id)
            if found is not None and is_counter[position]:
                previous_ms[position], previous_values[position] = found
        return previous_ms, previous_values

    def _last_samples_before(self, source: int, window: int) -> dict[int, tuple[int, float]]:
        row = self._db.execute(
            "SELECT end, data FROM chunks_raw WHERE source_id = ? AND start < ? "
            "ORDER BY start DESC LIMIT 1",
            (source, window),
        ).fetchone()
        if row is None or row[0] + self._max_gap < window:
            return {}
        return _last_present(ChunkReader.of(row[1]).decode())

    def _remember_last(
        self,
        source: int,
        window: int,
        raw: DecodedChunk,
        is_counter: np.ndarray,
        previous_ms: FloatArray,
        previous_values: FloatArray,
    ) -> None:
        cached = self._last.get(source)
        if cached is not None and cached.window > window:
            return
        samples = dict(cached.samples) if cached is not None else {}
        for position, series_id in enumerate(raw.series_ids):
            if is_counter[position] and not np.isnan(previous_values[position]):
                samples.setdefault(
                    series_id, (int(previous_ms[position]), float(previous_values[position]))
                )
        counters = {s for s, c in zip(raw.series_ids, is_counter, strict=True) if c}
        for series_id, sample in _last_present(raw).items():
            if series_id in counters:
                samples[series_id] = sample
        self._last[source] = _LastSamples(window, samples)

    # --- rollup tiers ----------------------------------------------------------------------

    def _read_covering(
        self, tier: TierSpec, source: int, start: int, end: int
    ) -> tuple[tuple[int, int, int], DecodedChunk] | None:
        # Chunks of a tier never overlap: only the last one starting at or before ``start``
        # can cover the range (asking SQL for "end >= ?" would read every older row).
        row = self._db.execute(
            f"SELECT id, start, end FROM {chunk_table(tier.name)} "
            "WHERE source_id = ? AND start <= ? ORDER BY start DESC LIMIT 1",
            (source, start),
        ).fetchone()
        if row is None or row[2] < end:
            return None
        (data,) = self._db.execute(
            f"SELECT data FROM {chunk_table(tier.name)} WHERE id = ?", (row[0],)
        ).fetchone()
        return (row[0], row[1], row[2]), ChunkReader.of(data).decode()

    def _write_range(
        self,
        level: int,
        source: int,
        start: int,
        end: int,
        points: DecodedChunk,
        *,
        keep_others: bool = False,
    ) -> None:
        """Make ``points`` the tier's whole content in [start, end) (with ``keep_others``:
        replace only the buckets ``points`` has), then carry the change into the next tier
        if that one already covers the range."""
        tier = self.layout.tiers[level]
        table = chunk_table(tier.name)
        covering = self._read_covering(tier, source, start, end)
        if covering is None:
            if len(points.times):
                whole_span = start % tier.span_ms == 0 and end - start == tier.span_ms
                self._db.execute(
                    f"INSERT INTO {table} (source_id, start, end, rows, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    # a piece is re-encoded when its span is compacted: encode it fast
                    (source, start, end, len(points.times), _encode(points, piece=not whole_span)),
                )
                if whole_span:
                    self._build_next(level, source, start, end, points)
                else:
                    span_start = start // tier.span_ms * tier.span_ms
                    self._spans_in_pieces().add((level, source, span_start))
                    self._mark_if_span_done(level, source, start, end)
        else:
            (chunk_id, chunk_start, chunk_end), old = covering
            if keep_others:
                points = union([old, points])
            elif (chunk_start, chunk_end) != (start, end):
                points = union([_without_range(old, start, end), points])
            if len(points.times):
                self._db.execute(
                    f"UPDATE {table} SET rows = ?, data = ? WHERE id = ?",
                    (len(points.times), _encode(points), chunk_id),
                )
            else:
                self._db.execute(f"DELETE FROM {table} WHERE id = ?", (chunk_id,))
        self._carry_up(level, source, start, end)

    def _carry_up(self, level: int, source: int, start: int, end: int) -> None:
        """Recompute the next tier over [start, end) if it already has points there."""
        if level + 1 >= len(self.layout.tiers):
            return
        upper = self.layout.tiers[level + 1]
        if self._read_covering_exists(upper, source, start, end):
            lower = self._points_in(level, source, start, end)
            kinds = {s: self._is_counter(s, source) for s in lower.series_ids}
            self._write_range(
                level + 1, source, start, end, merge_points(lower, kinds, upper.step_ms)
            )

    def _read_covering_exists(self, tier: TierSpec, source: int, start: int, end: int) -> bool:
        row = self._db.execute(
            f"SELECT end FROM {chunk_table(tier.name)} "
            "WHERE source_id = ? AND start <= ? ORDER BY start DESC LIMIT 1",
            (source, start),
        ).fetchone()
        return row is not None and row[0] >= end

    def _points_in(self, level: int, source: int, start: int, end: int) -> DecodedChunk:
        tier = self.layout.tiers[level]
        parts = [
            ChunkReader.of(data).decode()
            for (data,) in self._db.execute(
                f"SELECT data FROM {chunk_table(tier.name)} WHERE source_id = ? AND start < ? "
                "AND start > ? AND end > ? ORDER BY start",
                (source, end, start - tier.span_ms, start),
            )
        ]
        merged = union(parts)
        inside = (merged.times >= start) & (merged.times < end)
        return DecodedChunk(
            merged.times[inside], merged.series_ids, merged.field_counts, merged.columns[inside]
        )

    def _mark_if_span_done(self, level: int, source: int, start: int, end: int) -> None:
        span = self.layout.tiers[level].span_ms
        span_start = start // span * span
        span_end = span_start + span
        if end >= span_end or self._due(span_end, source, self._now_ms()):
            # The span is complete (its last piece is here, or its time is long over):
            # compact it before any coarser tier compacts the span around it.
            self._marks.add((level, source, span_start))
            return
        newest = self._db.execute(
            f"SELECT end FROM {chunk_table(self.layout.tiers[level].name)} "
            "WHERE source_id = ? ORDER BY start DESC LIMIT 1",
            (source,),
        ).fetchone()
        if newest is not None and newest[0] > span_end:
            self._marks.add((level, source, span_start))  # a late piece in a finished span

    def _compact(self, level: int, source: int, span_start: int) -> None:
        """Merge a finished span's pieces into one chunk and build the next tier from it."""
        tier = self.layout.tiers[level]
        table = chunk_table(tier.name)
        span_end = span_start + tier.span_ms
        self._spans_in_pieces().discard((level, source, span_start))
        rows = self._db.execute(
            f"SELECT id, start, end, data FROM {table} "
            "WHERE source_id = ? AND start >= ? AND start < ? ORDER BY start",
            (source, span_start, span_end),
        ).fetchall()
        if not rows:
            return
        points = union([ChunkReader.of(row[3]).decode() for row in rows])
        if len(rows) > 1 or (rows[0][1], rows[0][2]) != (span_start, span_end):
            self._db.executemany(f"DELETE FROM {table} WHERE id = ?", [(r[0],) for r in rows])
            self._db.execute(
                f"INSERT INTO {table} (source_id, start, end, rows, data) VALUES (?, ?, ?, ?, ?)",
                (source, span_start, span_end, len(points.times), _encode(points)),
            )
        self._build_next(level, source, span_start, span_end, points)

    def _build_next(
        self, level: int, source: int, start: int, end: int, points: DecodedChunk
    ) -> None:
        """A tier's span is complete: merge its points into the next tier's."""
        if level + 1 < len(self.layout.tiers):
            upper = self.layout.tiers[level + 1]
            kinds = {s: self._is_counter(s, source) for s in points.series_ids}
            self._write_range(
                level + 1, source, start, end, merge_points(points, kinds, upper.step_ms)
            )

    # --- maintenance -----------------------------------------------------------------------

    def maintain(self, deadline: float | None, monotonic: Callable[[], float]) -> bool:
        """Seal due windows and compact finished spans until ``deadline`` (monotonic
        seconds; None: until done). Returns True if work is left for the next batch."""
        now = self._now_ms()
        for source, windows in list(self._head_windows().items()):
            for window in sorted(windows):
                end = window + self._window
                if not self._due(end, source, now):
                    break
                if deadline is not None and monotonic() > deadline:
                    return True
                self._seal_from_head(source, window)
        if now // self._window != self._swept_at:
            self._swept_at = now // self._window
            self._sweep(now)
        while self._marks:
            if deadline is not None and monotonic() > deadline:
                return True
            mark = min(self._marks)
            self._marks.discard(mark)
            self._compact(*mark)
        return False

    def _due(self, end: int, source: int, now: int) -> bool:
        """A window (or span) ending at ``end`` is over: its node has sent samples well past
        it, or, if the node went quiet, our clock is long past it. The node's own samples
        decide first, so a writer that runs behind never seals a window early."""
        return end + self._delay <= self._latest.get(source, 0) or end + self._idle_delay <= now

    def _spans_in_pieces(self) -> set[tuple[int, int, int]]:
        """(level, source, span start) of every span not compacted yet: read from the file
        once, then kept up to date, so sweeping never scans the chunk tables."""
        if self._open_spans is None:
            self._open_spans = set()
            for level, tier in enumerate(self.layout.tiers):
                if level == 0:
                    continue
                span = tier.span_ms
                for source, start in self._db.execute(
                    f"SELECT DISTINCT source_id, (start / ?) * ? FROM {chunk_table(tier.name)} "
                    "WHERE end - start < ?",
                    (span, span, span),
                ):
                    self._open_spans.add((level, source, start))
        return self._open_spans

    def _sweep(self, now: int) -> None:
        """Find spans that are over but still in pieces (a node went quiet mid-span)."""
        for level, source, start in list(self._spans_in_pieces()):
            if start + self.layout.tiers[level].span_ms + self._idle_delay <= now:
                self._marks.add((level, source, start))

    def seal_everything(self) -> None:
        """Seal every head window and compact every span with pieces, finished or not —
        for a store about to be copied, and for tests that read straight from chunks."""
        for source, windows in list(self._head_windows().items()):
            for window in sorted(windows):
                self._seal_from_head(source, window)
        self.maintain(None, lambda: 0.0)

    def forget_before(self, level: int, cutoff_ms: int, limit: int) -> int:
        """Delete up to ``limit`` chunks of a tier that end before ``cutoff_ms``."""
        table = chunk_table(self.layout.tiers[level].name)
        cursor = self._db.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE end <= ? LIMIT ?)",
            (cutoff_ms, limit),
        )
        if level == 0:
            self._newest_sealed.clear()
            self._last.clear()
        return cursor.rowcount


def _encode(chunk: DecodedChunk, *, piece: bool = False) -> bytes:
    level = {"level": FAST_DEFLATE_LEVEL} if piece else {}
    return encode_chunk(chunk.times, chunk.series_ids, chunk.field_counts, chunk.columns, **level)


def _collapse_duplicates(times: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Sort by time; rows with the same millisecond become one (later values win)."""
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    if len(times) < 2 or (np.diff(times) > 0).all():
        return times, values
    unique = np.unique(times)
    merged = np.full((len(unique), values.shape[1]), np.nan)
    group = np.searchsorted(unique, times)
    for row in range(len(times)):  # rare: a repeated scrape
        present = ~np.isnan(values[row])
        merged[group[row], present] = values[row, present]
    return unique, merged


def _last_present(chunk: DecodedChunk) -> dict[int, tuple[int, float]]:
    """Each series' last present (time, value) in a raw chunk."""
    result = {}
    present = ~np.isnan(chunk.columns)
    for position, series_id in enumerate(chunk.series_ids):
        rows = np.flatnonzero(present[:, position])
        if rows.size:
            row = rows[-1]
            result[series_id] = (int(chunk.times[row]), float(chunk.columns[row, position]))
    return result
