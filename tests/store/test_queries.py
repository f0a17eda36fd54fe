"""A chart asks for a range; the store picks the resolution and keeps to the point budget."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from headless_agent.store import HistoryStore, NodeSampleBlock, SeriesSelector, cluster_identity
from tests.store.conftest import DAY, FAST, Clock

START = 1_767_225_600.0  # a window boundary
DAYS = 20


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """Two nodes, a gauge and a counter each, every 15 s for 20 days, sealed and rolled up."""
    path = tmp_path_factory.mktemp("queries") / "history.sqlite3"
    clock = Clock(START)
    rows = int(DAYS * DAY / 15)
    times = START + np.arange(rows) * 15.0
    values = np.column_stack(
        [np.round(50 + 20 * np.sin(np.arange(rows) / 500), 1), np.arange(rows) * 100.0]
    )
    with HistoryStore.open(path, clock=clock, options=FAST) as store:
        for node in ("node-a", "node-b"):
            for start in range(0, rows, 480):  # one 2-hour window per block
                clock.now = times[min(start + 479, rows - 1)] + 200
                block = NodeSampleBlock(
                    node,
                    times[start : start + 480],
                    ["cpu_percent", "bytes_total"],
                    values[start : start + 480],
                    frozenset({"bytes_total"}),
                )
                store.record_node_samples("prod", block)
        clock.now = times[-1] + 3600
        store.settle()
    return path, float(times[-1])


@pytest.mark.parametrize(
    ("span", "resolution", "step"),
    [
        (3600.0, "raw", None),  # 240 samples: raw
        (6 * 3600.0, "raw", None),  # 1,440 samples: still raw
        (DAY, "1m", 60.0),  # 1,440 one-minute points
        (7 * DAY, "1m", 420.0),  # 1-min points merged 7 by 7
        (DAY * DAYS, "5m", 1200.0),  # older than the 1-min tier keeps: 5-min points merged
    ],
)
def test_the_store_picks_the_finest_resolution_within_the_budget(
    fleet: tuple[Path, float], span: float, resolution: str, step: float | None
) -> None:
    path, end = fleet
    with HistoryStore.open(path, clock=Clock(end + 60), options=FAST) as store:
        charts = store.query_series(SeriesSelector("prod"), end - span, end)
    assert len(charts) == 4
    for chart in charts:
        assert chart.resolution == resolution and chart.step == step
        assert 0 < len(chart) <= 1500
        assert chart.times[0] >= end - span - (step or 0) and chart.times[-1] <= end
    counter = next(c for c in charts if c.series.name == "bytes_total")
    assert counter.average == pytest.approx(100 / 15)  # a rate, at every resolution


def test_no_chart_ever_gets_more_points_than_asked(fleet: tuple[Path, float]) -> None:
    path, end = fleet
    pick = np.random.default_rng(7)
    with HistoryStore.open(path, clock=Clock(end + 60), options=FAST) as store:
        for _ in range(25):
            span = float(pick.uniform(60, DAYS * DAY))
            budget = int(pick.integers(3, 3000))
            start = end - span - float(pick.uniform(0, 3600))
            for chart in store.query_series(
                SeriesSelector("prod", ("node-a",)), start, end, max_points=budget
            ):
                assert len(chart) <= budget, (span, budget, chart.resolution)


def test_a_chart_reaches_up_to_the_newest_sample(tmp_path: Path) -> None:
    # The last hours are not rolled up yet; the coarse tiers get them from the finer ones.
    clock = Clock(START)
    with HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST) as store:
        times = START + np.arange(0, 3 * 3600, 15.0)
        clock.now = times[-1] + 1
        block = NodeSampleBlock("n", times, ["load1"], np.ones((len(times), 1)))
        store.record_node_samples("prod", block)
        store.flush()
        for resolution in ("raw", "1m", "5m", "1h"):
            (chart,) = store.query_series(
                SeriesSelector("prod"), START, times[-1], resolution=resolution
            )
            assert (
                chart.times[-1]
                >= times[-1] - {"raw": 0, "1m": 60, "5m": 300, "1h": 3600}[resolution]
            )


def test_selectors_take_patterns(fleet: tuple[Path, float]) -> None:
    path, end = fleet
    with HistoryStore.open(path, clock=Clock(end), options=FAST) as store:
        found = store.list_series(SeriesSelector("prod", ("node-?",), ("cpu*",)))
        assert [(s.node, s.name) for s in found] == [
            ("node-a", "cpu_percent"),
            ("node-b", "cpu_percent"),
        ]
        assert store.list_series(SeriesSelector("prod", ("node-c",))) == []


def test_closing_while_queries_run_in_other_threads_is_safe(tmp_path: Path) -> None:
    # The desktop abandons a superseded query; its thread may still be reading when the
    # app closes the store. Closing waits for it; later queries get a clear error.
    store = HistoryStore.open(tmp_path / "h.sqlite3", options=FAST)
    for n in range(200):
        store.bind_cluster(f"c{n}", cluster_identity(f"u{n}", f"c{n}"))
    store.flush()
    outcomes: list[str] = []
    reading = threading.Semaphore(0)

    def read() -> None:
        store.clusters()
        reading.release()  # this thread has its connection and keeps querying
        while True:
            try:
                assert len(store.clusters()) == 200
            except RuntimeError as error:
                outcomes.append(str(error))
                return

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in threads:
        reading.acquire(timeout=10)
    store.close()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes == ["the history store is closed"] * 4
