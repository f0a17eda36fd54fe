"""History store benchmark (issue #4): ingest rate, bytes per sample and chart query times.

Run it as a module from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_store [--days 30] [--nodes 100] [--series 40]

It simulates a fleet of N nodes × S series sampled every 15 s for D days and measures, in
one run and on the same generated data:

- **engine** — ``headless_agent.store.HistoryStore`` in a fresh file: every node's samples
  go in as ``NodeSampleBlock``s of one 2-hour window (the path an agent takes when it
  fills a gap, and a backfill), through the public API and the writer thread, until every
  window is sealed, rolled up and compacted (``settle()``). Raw samples are kept for the
  whole run, so the file holds every sample plus every rollup tier: bytes per sample is
  "all in". A second, short run feeds one scrape at a time (``NodeSamples``, the live
  path through the head table) to show that path's rate. Then default retention is
  applied and the steady file size is reported.
- **naive baseline** — one row per sample in SQLite: ``samples(series_id, ts, value,
  PRIMARY KEY (series_id, ts)) WITHOUT ROWID`` (the compact form of the naive table),
  WAL, ``executemany`` in batches of 100,000 rows; a chart query aggregates on the fly with
  ``GROUP BY`` (counters as rates with ``LAG``). It holds ``--naive-nodes`` nodes for the
  same days (default 10: the full fleet would be ~25 GB); its figures for the whole fleet
  are scaled up linearly from that subset, and the output says so.

Charts: the last 24 h and the whole 30 days, for one series of one node, for all series of
one node (its dashboard) and for one series of every node (a fleet chart); each query time
is the median of 5 runs with a warm page cache.

The series imitate what the probe sends (CPU seconds and per-core percent, load, memory,
swap, PSI, disk space and IO, network, temperatures) with the precision psutil gives them;
see ``FIELDS``. ``--update-docs`` writes the figures into docs/BENCHMARKS.md (by default
only at full size). Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from headless_agent.store import (
    HistoryStore,
    NodeSampleBlock,
    NodeSamples,
    RetentionRule,
    SeriesLayout,
    SeriesSelector,
    TierSpec,
    WriterOptions,
)
from tests.benchmarks.docs_section import add_docs_and_json_options, write_figures

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "BENCHMARKS.md"
MODULE = "tests.benchmarks.bench_store"
SECTION_TITLE = "## History store (issue #4)"
BEGIN_MARK = "<!-- BEGIN bench_store (generated) -->"
END_MARK = "<!-- END bench_store (generated) -->"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a window boundary
INTERVAL = 15.0
WINDOW = 7200.0
DAY = 86_400.0
CLUSTER = "bench"


# --- the simulated fleet -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One simulated series: how it moves and with how many decimals psutil reports it."""

    name: str
    counter: bool
    kind: str  # walk | noise | rate | sparse
    level: float
    spread: float
    decimals: int
    quantum: float = 0.0  # values are multiples of this (pages, sectors), if set


FIELDS: tuple[Field, ...] = (
    *(
        Field(f'cpu_seconds_total{{mode="{m}"}}', True, "rate", rate, rate / 4, 2)
        for m, rate in (("user", 3.1), ("system", 1.2), ("iowait", 0.2), ("idle", 11.0))
    ),
    *(Field(f'cpu_busy_percent{{cpu="{c}"}}', False, "noise", 30.0, 15.0, 1) for c in range(8)),
    *(Field(f"load{m}", False, "walk", 1.5, 0.05, 2) for m in ("1", "5", "15")),
    *(
        Field(f"memory_{m}_bytes", False, "walk", level, 4096 * 200, 0, 4096.0)
        for m, level in (("used", 8e9), ("available", 7e9), ("cached", 3e9), ("buffers", 4e8))
    ),
    Field("swap_used_bytes", False, "walk", 0.0, 0.0, 0, 4096.0),
    *(
        Field(f'psi_{r}_some_avg10{{resource="{r}"}}', False, "sparse", 0.3, 0.3, 2)
        for r in ("cpu", "memory", "io", "irq")
    ),
    *(
        Field(f'disk_used_bytes{{device="{d}"}}', False, "walk", 5e10, 4096 * 25, 0, 4096.0)
        for d in ("sda", "sdb")
    ),
    *(
        Field(f'disk_{io}_bytes_total{{device="{d}"}}', True, "rate", 1e6, 5e5, 0, 512.0)
        for d in ("sda", "sdb")
        for io in ("read", "written")
    ),
    *(
        Field(f'network_{io}_bytes_total{{interface="{i}"}}', True, "rate", 1.2e5, 1e5, 0)
        for i in ("eth0", "eth1")
        for io in ("received", "sent")
    ),
    *(
        Field(f'temperature_celsius{{sensor="core{s}"}}', False, "walk", 55.0, 0.2, 1)
        for s in range(5)
    ),
    Field("uptime_seconds_total", True, "rate", 1.0, 0.0, 2),
)


def fields_for(count: int) -> list[Field]:
    """``count`` series: the 40 above, repeated with a suffix if more are asked for."""
    result = []
    for index in range(count):
        base = FIELDS[index % len(FIELDS)]
        suffix = "" if index < len(FIELDS) else f"_{index // len(FIELDS)}"
        result.append(Field(base.name + suffix, *[getattr(base, f) for f in Field.__slots__[1:]]))
    return result


class NodeSimulator:
    """One node's series, generated one window at a time (random walks carry over)."""

    def __init__(self, node: int, fields: Sequence[Field], seed: int) -> None:
        self.node = f"node-{node:03d}"
        self.fields = fields
        self.names = [f.name for f in fields]
        self.counters = frozenset(f.name for f in fields if f.counter)
        self._random = np.random.default_rng(seed)
        self._phase = float(self._random.integers(0, 15_000)) / 1000  # scrape offset
        self._state = np.array([f.level for f in fields], dtype=np.float64)
        self._totals = self._random.uniform(1e5, 1e7, len(fields))

    def window(self, start: float, duration: float = WINDOW) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, values) of every scrape in [start, start + duration)."""
        rows = round(duration / INTERVAL)
        jitter = self._random.normal(0, 0.004, rows)
        times = start + self._phase + np.arange(rows) * INTERVAL + np.abs(jitter)
        times = np.round(times, 3)
        values = np.empty((rows, len(self.fields)))
        for column, spec in enumerate(self.fields):
            values[:, column] = self._series(column, spec, rows)
        return times, values

    def _series(self, column: int, spec: Field, rows: int) -> np.ndarray:
        random = self._random
        if spec.kind == "noise":
            out = np.clip(random.normal(spec.level, spec.spread, rows), 0, 100)
        elif spec.kind == "sparse":
            out = np.abs(random.normal(0, spec.spread, rows)) * (random.random(rows) < 0.1)
        elif spec.kind == "walk":
            steps = random.normal(0, spec.spread, rows)
            out = np.maximum(self._state[column] + np.cumsum(steps), 0)
            self._state[column] = out[-1]
        else:  # a counter growing at a noisy rate
            increments = np.maximum(random.normal(spec.level, spec.spread, rows), 0) * INTERVAL
            out = self._totals[column] + np.cumsum(increments)
            self._totals[column] = out[-1]
        if spec.quantum:
            return np.round(out / spec.quantum) * spec.quantum
        return np.round(out, spec.decimals)


def fleet(nodes: int, series: int) -> list[NodeSimulator]:
    fields = fields_for(series)
    return [NodeSimulator(n, fields, seed=1000 + n) for n in range(nodes)]


# --- the engine ----------------------------------------------------------------------------


class SimClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bench_layout(days: float) -> SeriesLayout:
    """The default layout, but raw samples kept for the whole run (so "all in" means it)."""
    default = SeriesLayout()
    raw = TierSpec("raw", default.raw.step, default.raw.span, max(days + 1, 3) * DAY)
    return SeriesLayout(raw=raw, rollups=default.rollups)


@dataclass
class EngineIngest:
    samples: int
    seconds: float
    file_bytes: int
    kind_bytes: dict[str, int]

    @property
    def rate(self) -> float:
        return self.samples / self.seconds


def ingest_engine(
    path: Path, nodes: int, series: int, days: float, progress: Callable[[str], None]
) -> EngineIngest:
    simulators = fleet(nodes, series)
    clock = SimClock(START)
    options = WriterOptions(retention_interval=10 * DAY, max_queued_samples=60_000_000)
    store = HistoryStore.open(path, layout=bench_layout(days), clock=clock, options=options)
    windows = round(days * DAY / WINDOW)
    samples = 0
    began = time.perf_counter()
    try:
        for window in range(windows):
            start = START + window * WINDOW
            clock.now = start + WINDOW + 120  # the window is over: blocks seal directly
            for simulator in simulators:
                times, values = simulator.window(start)
                block = NodeSampleBlock(
                    simulator.node, times, simulator.names, values, simulator.counters
                )
                while store.status.queued_samples > 20_000_000:
                    time.sleep(0.01)  # let the writer catch up: memory stays bounded
                store.record_node_samples(CLUSTER, block)
                samples += values.size
            if window % 12 == 11:
                elapsed = time.perf_counter() - began
                progress(
                    f"  engine: day {(window + 1) * WINDOW / DAY:.0f}/{days:g}, "
                    f"{samples / 1e6:.0f} M samples queued, {samples / elapsed / 1e6:.2f} M/s"
                )
        store.settle()
        seconds = time.perf_counter() - began
        if store.status.failed_jobs or store.status.dropped_samples:
            raise RuntimeError(f"the engine lost data: {store.status}")
        report = store.size_report()
    finally:
        store.close()
    _checkpoint(path)
    return EngineIngest(
        samples,
        seconds,
        path.stat().st_size,
        {kind: usage.bytes for kind, usage in report.kinds.items()},
    )


def ingest_scrapes(path: Path, nodes: int, series: int, hours: float) -> EngineIngest:
    """The live path: one ``NodeSamples`` per node and scrape, through the head table."""
    simulators = fleet(nodes, series)
    clock = SimClock(START)
    store = HistoryStore.open(path, clock=clock)
    windows = [s.window(START, hours * 3600) for s in simulators]
    samples = 0
    began = time.perf_counter()
    try:
        for row in range(len(windows[0][0])):
            scrape = []
            for simulator, (times, values) in zip(simulators, windows, strict=True):
                gauges, counters = {}, {}
                for name, value in zip(simulator.names, values[row].tolist(), strict=True):
                    (counters if name in simulator.counters else gauges)[name] = value
                scrape.append(NodeSamples(simulator.node, float(times[row]), gauges, counters))
                samples += len(simulator.names)
            clock.now = float(windows[0][0][row]) + 1
            store.record_node_samples(CLUSTER, scrape)
        store.settle()
        seconds = time.perf_counter() - began
    finally:
        store.close()
    return EngineIngest(samples, seconds, path.stat().st_size, {})


@dataclass
class QueryTimes:
    """Median seconds per chart, and the points per series the chart got."""

    seconds: dict[str, float] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)
    resolution: dict[str, str] = field(default_factory=dict)


CHARTS = ("one series, one node", "all series, one node", "one series, every node")


def _median_time(action: Callable[[], object], runs: int = 5) -> tuple[float, object]:
    action()  # warm the page cache and the readers
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def query_engine(path: Path, days: float, series_name: str) -> QueryTimes:
    end = START + days * DAY
    clock = SimClock(end)
    result = QueryTimes()
    with HistoryStore.open(path, clock=clock, start=False) as store:
        selectors = {
            CHARTS[0]: SeriesSelector(CLUSTER, ("node-000",), (series_name,)),
            CHARTS[1]: SeriesSelector(CLUSTER, ("node-000",)),
            CHARTS[2]: SeriesSelector(CLUSTER, None, (series_name,)),
        }
        for span_name, span in (("24 h", DAY), (f"{days:g} d", days * DAY)):
            for chart, selector in selectors.items():
                seconds, points = _median_time(
                    lambda s=selector, a=end - span: store.query_series(s, a, end)
                )
                assert isinstance(points, list) and points
                key = f"{span_name}, {chart}"
                result.seconds[key] = seconds
                result.points[key] = max(len(p) for p in points)
                result.resolution[key] = f"{points[0].resolution} × {points[0].step or 15:g} s"
    return result


def steady_state(path: Path, days: float) -> tuple[int, dict[str, int]]:
    """Apply the default retention (raw 48 h, 1 min 14 d, ...) at the end of the run."""
    clock = SimClock(START + days * DAY)
    with HistoryStore.open(path, clock=clock) as store:
        defaults = SeriesLayout()
        store.set_retention("metrics.raw", RetentionRule(defaults.raw.max_age))
        store.run_retention()
        report = store.size_report()
    _checkpoint(path)
    return path.stat().st_size, {kind: usage.bytes for kind, usage in report.kinds.items()}


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


# --- the naive baseline --------------------------------------------------------------------


@dataclass
class NaiveResult:
    nodes: int
    samples: int
    seconds: float
    file_bytes: int
    queries: QueryTimes

    @property
    def rate(self) -> float:
        return self.samples / self.seconds


def ingest_naive(path: Path, nodes: int, series: int, days: float) -> tuple[int, float]:
    simulators = fleet(nodes, series)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
        "value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE series (id INTEGER PRIMARY KEY, node TEXT, name TEXT, counter INT)")
    for n, simulator in enumerate(simulators):
        for c, name in enumerate(simulator.names):
            db.execute(
                "INSERT INTO series VALUES (?, ?, ?, ?)",
                (n * series + c, simulator.node, name, name in simulator.counters),
            )
    windows = round(days * DAY / WINDOW)
    samples = 0
    began = time.perf_counter()
    for window in range(windows):
        start = START + window * WINDOW
        rows: list[tuple[int, int, float]] = []
        for n, simulator in enumerate(simulators):
            times, values = simulator.window(start)
            stamps = np.rint(times * 1000).astype(np.int64)
            ids = n * series + np.arange(series)
            rows += zip(
                np.repeat(ids[None, :], len(stamps), 0).ravel().tolist(),
                np.repeat(stamps, series).tolist(),
                values.ravel().tolist(),
                strict=True,
            )
        db.execute("BEGIN")
        for offset in range(0, len(rows), 100_000):
            db.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows[offset : offset + 100_000])
        db.execute("COMMIT")
        samples += len(rows)
    seconds = time.perf_counter() - began
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return samples, seconds


_GAUGE_SQL = (
    "SELECT (ts / ?) * ? AS bucket, MIN(value), AVG(value), MAX(value) FROM samples "
    "WHERE series_id = ? AND ts >= ? AND ts < ? GROUP BY bucket"
)
_COUNTER_SQL = (
    "WITH d AS (SELECT ts, value - LAG(value) OVER w AS increase, ts - LAG(ts) OVER w AS dt "
    "FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? WINDOW w AS (ORDER BY ts)) "
    "SELECT (ts / ?) * ? AS bucket, MIN(increase * 1000.0 / dt), "
    "SUM(increase) * 1000.0 / SUM(dt), MAX(increase * 1000.0 / dt) FROM d "
    "WHERE dt > 0 AND increase >= 0 GROUP BY bucket"
)


def query_naive(path: Path, nodes: int, series: int, days: float, series_name: str) -> QueryTimes:
    db = sqlite3.connect(path)
    names = [f.name for f in fields_for(series)]
    counters = {f.name for f in fields_for(series) if f.counter}
    column = names.index(series_name)
    end_ms = int((START + days * DAY) * 1000)
    result = QueryTimes()

    def chart(ids: Sequence[int], start_ms: int, step_ms: int) -> list[list[tuple[float, ...]]]:
        out = []
        for series_id in ids:
            if names[series_id % series] in counters:
                parameters = (series_id, start_ms, end_ms, step_ms, step_ms)
                out.append(db.execute(_COUNTER_SQL, parameters).fetchall())
            else:
                parameters = (step_ms, step_ms, series_id, start_ms, end_ms)
                out.append(db.execute(_GAUGE_SQL, parameters).fetchall())
        return out

    for span_name, span in (("24 h", DAY), (f"{days:g} d", days * DAY)):
        step_ms = 60_000 if span <= DAY else 1_800_000  # the engine's chart steps
        start_ms = end_ms - int(span * 1000)
        sets = {
            CHARTS[0]: [column],
            CHARTS[1]: list(range(series)),
            CHARTS[2]: [n * series + column for n in range(nodes)],
        }
        for chart_name, ids in sets.items():
            runs = 1 if len(ids) * span > 40 * DAY else 3  # the long ones take seconds each
            seconds, points = _median_time(
                lambda i=ids, a=start_ms, s=step_ms: chart(i, a, s), runs
            )
            key = f"{span_name}, {chart_name}"
            result.seconds[key] = seconds
            assert isinstance(points, list)
            result.points[key] = max(len(p) for p in points)
    db.close()
    return result


# --- report --------------------------------------------------------------------------------


@dataclass
class Report:
    nodes: int
    series: int
    days: float
    engine: EngineIngest
    scrapes: EngineIngest
    scrape_hours: float
    queries: QueryTimes
    steady_bytes: int
    steady_kinds: dict[str, int]
    naive: NaiveResult
    machine: str
    when: str

    @property
    def scale(self) -> float:
        """Fleet size over the naive subset: how far naive fleet figures are scaled up."""
        return self.nodes / self.naive.nodes


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.1f} GiB"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _speedup(ratio: float) -> str:
    """Naive time over engine time, in words."""
    shown = f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"
    return f"{shown} faster" if ratio >= 1 else f"{shown} (slower)"


def format_report(report: Report) -> str:
    e, n = report.engine, report.naive
    raw_bytes = e.kind_bytes.get("metrics.raw", 0)
    naive_per_sample = n.file_bytes / n.samples
    lines = [
        f"Fleet: {report.nodes} nodes × {report.series} series every {INTERVAL:g} s for "
        f"{report.days:g} days = {e.samples:,} samples ({report.machine}).",
        f"Naive baseline: measured on {n.nodes} nodes ({n.samples:,} samples); figures for "
        f"{report.nodes} nodes are those × {report.scale:g} (marked ≈).",
        "",
        "| | engine | naive | ratio |",
        "|---|---:|---:|---:|",
        f"| ingest, samples/s (engine: {report.days:g} d as 2-h blocks, all tiers built) | "
        f"{e.rate:,.0f} | {n.rate:,.0f} | {e.rate / n.rate:.1f}× |",
        f"| ingest, samples/s (engine: {report.scrape_hours:g} h as single scrapes via the head)"
        f" | {report.scrapes.rate:,.0f} | {n.rate:,.0f} | {report.scrapes.rate / n.rate:.1f}× |",
        f"| bytes per sample, raw samples only | {raw_bytes / e.samples:.2f} | "
        f"{naive_per_sample:.1f} | {naive_per_sample / (raw_bytes / e.samples):.0f}× smaller |",
        f"| bytes per sample, all in (file with raw + 1m + 5m + 1h tiers) | "
        f"{e.file_bytes / e.samples:.2f} | {naive_per_sample:.1f} | "
        f"{naive_per_sample / (e.file_bytes / e.samples):.0f}× smaller |",
        f"| file for the fleet, {report.days:g} d | {_size(e.file_bytes)} | "
        f"≈ {_size(n.file_bytes * report.scale)} | |",
    ]
    for key, seconds in report.queries.seconds.items():
        naive = n.queries.seconds[key]
        scaled = "every node" in key
        shown = naive * report.scale if scaled else naive
        lines.append(
            f"| chart {key} ({report.queries.points[key]} points/series, "
            f"{report.queries.resolution[key]}) | {_duration(seconds)} | "
            f"{'≈ ' if scaled else ''}{_duration(shown)} | {_speedup(shown / seconds)} |"
        )
    lines += [
        "",
        f"After default retention (raw 48 h, 1 min 14 d, 5 min 90 d, 1 h 1 y) at day "
        f"{report.days:g}: file {_size(report.steady_bytes)}; "
        + ", ".join(
            f"{kind.split('.', 1)[1]} {_size(size)}"
            for kind, size in report.steady_kinds.items()
            if kind.startswith("metrics.")
        )
        + ".",
        "Engine tiers with every raw sample kept: "
        + ", ".join(
            f"{kind.split('.', 1)[1]} {_size(size)}"
            for kind, size in e.kind_bytes.items()
            if kind.startswith("metrics.")
        )
        + f". Engine ingest took {e.seconds:.0f} s; naive {n.seconds:.0f} s for "
        f"{n.nodes} nodes.",
    ]
    return "\n".join(lines)


def docs_block(report: Report, command: str) -> str:
    return "\n".join(
        [
            BEGIN_MARK,
            f"Measured {report.when} with `{command}`.",
            "",
            format_report(report),
            END_MARK,
        ]
    )


DOCS_HEADER = """\
# Benchmarks

How fast and how cheaply AtlHyper does its work. Each section names the exact command;
the generated parts between the `BEGIN`/`END` comments are rewritten by that command.
"""

NOTES = """\
### Notes

- The simulated series carry the precision psutil gives (CPU percent with one decimal,
  load with two, bytes as whole pages or sectors), which is what makes decimal scaling
  pay; random full-precision doubles would cost about 7 bytes each in any lossless format.
- "Raw samples only" counts the raw tier's chunks and head with their index; "all in" is
  the whole file divided by the samples ingested, while every raw sample is still kept.
- The naive table is the compact variant (`WITHOUT ROWID`, primary key as the only index);
  a rowid table with a separate index costs more. Its chart queries return min/avg/max
  per bucket (no "last"), with counter resets ignored, so they do less than the engine's.
- Naive figures for "every node" are the measured subset's time scaled up by the node
  ratio: its cost grows linearly with the number of series read.
- The full run takes about 17 minutes on the 2-CPU machine, 14 of them the engine's ingest
  of 691 M samples. That ingest runs on the store's one writer thread (the benchmark's
  generator is the other); deflate is about a third of its time, numpy the rest.
- A one-series, one-node, 24-hour chart costs both a few milliseconds; the engine's gain
  grows with what a chart reads (a node's 40 series, a fleet, 30 days).
"""


def update_docs(report: Report, command: str, path: Path = DOCS) -> None:
    """Write the generated block into this section only; other sections are left alone."""
    block = docs_block(report, command)
    text = path.read_text() if path.exists() else DOCS_HEADER
    begin, end = text.find(BEGIN_MARK), text.find(END_MARK)
    if SECTION_TITLE in text and begin != -1 and end > begin:
        text = text[:begin] + block + text[end + len(END_MARK) :]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\n{block}\n\n{NOTES}"
    path.write_text(text)


# --- command line --------------------------------------------------------------------------


def run(
    *,
    days: float,
    nodes: int,
    series: int,
    naive_nodes: int,
    scrape_hours: float,
    workdir: Path,
    progress: Callable[[str], None] = print,
) -> Report:
    series_name = 'cpu_seconds_total{mode="user"}'
    engine_path = workdir / "engine.sqlite3"
    progress(f"engine: ingesting {nodes} nodes × {series} series × {days:g} days …")
    engine = ingest_engine(engine_path, nodes, series, days, progress)
    progress(f"engine: {engine.rate:,.0f} samples/s; querying …")
    queries = query_engine(engine_path, days, series_name)
    progress(f"engine: single scrapes for {scrape_hours:g} h …")
    scrapes = ingest_scrapes(workdir / "scrapes.sqlite3", nodes, series, scrape_hours)
    progress("engine: default retention …")
    steady_bytes, steady_kinds = steady_state(engine_path, days)
    naive_path = workdir / "naive.sqlite3"
    naive_count = min(naive_nodes, nodes)
    progress(f"naive: ingesting {naive_count} nodes …")
    samples, seconds = ingest_naive(naive_path, naive_count, series, days)
    progress(f"naive: {samples / seconds:,.0f} samples/s; querying …")
    naive_queries = query_naive(naive_path, naive_count, series, days, series_name)
    naive = NaiveResult(naive_count, samples, seconds, naive_path.stat().st_size, naive_queries)
    cpu = platform.processor() or platform.machine()
    return Report(
        nodes,
        series,
        days,
        engine,
        scrapes,
        scrape_hours,
        queries,
        steady_bytes,
        steady_kinds,
        naive,
        machine=f"{os.cpu_count()} CPUs {cpu}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}",
        when=datetime.date.today().isoformat(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--naive-nodes", type=int, default=10)
    parser.add_argument("--scrape-hours", type=float, default=3.0)
    parser.add_argument("--workdir", type=Path, help="where the files go (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    parser.add_argument(
        "--update-docs",
        choices=("auto", "yes", "no"),
        default="auto",
        help=f"write the figures into {DOCS.relative_to(REPO)} (auto: only at full size)",
    )
    add_docs_and_json_options(parser)
    arguments = parser.parse_args(argv)
    if arguments.days < 1 or min(arguments.nodes, arguments.series, arguments.naive_nodes) < 1:
        parser.error("at least 1 day, 1 node, 1 series and 1 naive node")
    if arguments.days * DAY % WINDOW:
        parser.error("--days must be a whole number of 2-hour windows")
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = run(
            days=arguments.days,
            nodes=arguments.nodes,
            series=arguments.series,
            naive_nodes=arguments.naive_nodes,
            scrape_hours=arguments.scrape_hours,
            workdir=workdir,
        )
    finally:
        if not arguments.keep and arguments.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(format_report(report))
    full = (arguments.days, arguments.nodes, arguments.series) == (30, 100, 40)
    command = (
        f".venv/bin/python -m {MODULE} --days {arguments.days:g} --nodes {arguments.nodes} "
        f"--series {arguments.series}"
        + (f" --naive-nodes {arguments.naive_nodes}" if arguments.naive_nodes != 10 else "")
        + (f" --scrape-hours {arguments.scrape_hours:g}" if arguments.scrape_hours != 3 else "")
    )
    if arguments.update_docs == "yes" or (arguments.update_docs == "auto" and full):
        update_docs(report, command.strip(), arguments.docs)
        print(f"\nupdated {arguments.docs}")
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in format_report(report).splitlines()
        if line.startswith("| ") and not line.startswith("| |")
    ]
    write_figures(
        arguments.json,
        measured=f"the history store: {report.nodes} nodes × {report.series} series for "
        f"{report.days:g} days against a naive row-per-sample table",
        columns=("", "engine", "naive", "ratio"),
        rows=rows,
        headline=rows[3],
        command=command.strip(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
