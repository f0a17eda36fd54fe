"""A process killed with SIGKILL mid-ingest leaves a sound file and loses at most ~2 s.

A real child process ingests a busy fleet (20 nodes × 40 series, ~100 scrapes a second,
windows sealing, rollups compacting, retention running) into one file; the test kills it
50 times at random moments, and after each kill checks ``PRAGMA integrity_check``, that
what survived is an unbroken prefix of what was handed to the store, and that nothing
handed over more than 2 seconds before the kill is missing. The next child carries on in
the same file from the first lost tick.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headless_agent.store import HistoryStore, SeriesSelector
from tests.store import crash_child

KILLS = 50
LOSS_BOUND = 2.0
REPO = Path(__file__).resolve().parents[2]
#: the child's layout, read without retention's cut-off (the test's clock is not the child's)
READ_LAYOUT = dataclasses.replace(
    crash_child.LAYOUT, raw=dataclasses.replace(crash_child.LAYOUT.raw, max_age=1e10)
)


def _start(path: Path, first_tick: int) -> tuple[subprocess.Popen[bytes], float]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", str(path), str(first_tick)],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = child.stdout.readline().decode().split()
    assert line[:1] == ["ready"], f"the child did not start: {line}"
    return child, float(line[1])


def _stored_ticks(path: Path, first_tick: int) -> tuple[list[int], list[float], list[int]]:
    """(ticks, their wall times, audited ticks) stored from ``first_tick`` on."""
    start = crash_child.T0 + first_tick * crash_child.TICK
    clock = crash_child.SimClock(start + 10 * 86400)
    with HistoryStore.open(path, layout=READ_LAYOUT, clock=clock, start=False) as store:
        try:
            series = store.query_series(
                SeriesSelector(crash_child.CLUSTER, ("node-00", "node-19"), ("tick", "wall")),
                start,
                start + 10 * 86400,
                max_points=10**7,
                resolution="raw",
            )
        except LookupError:  # nothing at all stored yet
            return [], [], []
        found = {(p.series.node, p.series.name): p.average.tolist() for p in series}
        audits = [
            int(e.parameters["tick"])
            for e in store.audit_log(start, start + 10 * 86400)
            if e.action == "tick"
        ]
    ticks = [int(t) for t in found.get(("node-00", "tick"), [])]
    # One scrape of every node is one job: the last node has exactly the same ticks.
    assert [int(t) for t in found.get(("node-19", "tick"), [])] == ticks
    return ticks, found.get(("node-00", "wall"), []), audits


@pytest.mark.timeout(180)
def test_fifty_sigkills_during_ingest_lose_at_most_two_seconds(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    pick = random.Random(4)
    first_tick = 0
    losses = []
    for kill in range(KILLS):
        child, ready_at = _start(path, first_tick)
        time.sleep(pick.uniform(0.05, 0.7))
        killed_at = time.time()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()

        connection = sqlite3.connect(path)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)], (
            f"kill {kill}: the file is damaged"
        )
        connection.close()

        ticks, walls, audits = _stored_ticks(path, first_tick)
        assert ticks == list(range(first_tick, first_tick + len(ticks))), (
            f"kill {kill}: the stored scrapes have a hole"
        )
        last_kept = walls[-1] if walls else ready_at
        losses.append(killed_at - last_kept)
        assert killed_at - last_kept <= LOSS_BOUND, (
            f"kill {kill}: {killed_at - last_kept:.2f} s of data lost"
        )
        expected_audits = [t for t in ticks if t % 10 == 0]
        assert audits in (expected_audits, expected_audits[:-1]), f"kill {kill}: audit log"
        first_tick += len(ticks)
    assert first_tick > 0, "no kill left anything behind: the test did not ingest"
    print(f"{KILLS} kills, {first_tick} scrapes kept, worst loss {max(losses):.2f} s")
