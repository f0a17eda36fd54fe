"""SLO minutes in the history file: a file from before schema 7 keeps its SLO windows and
takes the new ones; old minutes go while their hourly rollups stay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from headless_agent.store import HistoryStore, SloWindow
from headless_agent.store.schema import SeriesLayout, migrate

T0 = 1_800_000_000.0 // 3600 * 3600


def test_a_schema_6_file_keeps_its_slo_windows_and_takes_minutes_with_traffic(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
    migrate(connection, SeriesLayout(), target=6)
    connection.execute(
        "INSERT INTO clusters (id, identity, display_name, kube_system_uid, first_seen, "
        "last_seen) VALUES (1, 'uid:abc', 'prod', 'abc', ?, ?)",
        (T0, T0),
    )
    connection.execute(
        "INSERT INTO slo_windows VALUES (1, 'checkout-availability', ?, 300, 990, 1000)", (T0,)
    )
    connection.close()
    with HistoryStore.open(path) as store:
        assert store.previous_version == 6
        assert store.slo_windows("prod", "checkout-availability", T0, T0) == [
            SloWindow("checkout-availability", T0, 300, 990, 1000)
        ]
        minute = SloWindow(
            "shop.example.com/",
            T0,
            60,
            9,
            10,
            (("200", 9.0), ("503", 1.0)),
            ((0.1, 4.0), (float("inf"), 10.0)),
        )
        store.record_slo_minutes("staging", [minute])
        store.flush()
        assert store.slo_traffic("staging", T0, T0 + 60) == [minute]
        [hour] = store.slo_traffic("staging", T0, T0 + 60, seconds=3600)
        assert (hour.good, hour.total, hour.statuses, hour.latency) == (
            9,
            10,
            minute.statuses,
            minute.latency,
        )


def test_minutes_older_than_five_weeks_go_and_their_hours_stay(tmp_path: Path) -> None:
    def minute(at: float) -> SloWindow:
        return SloWindow("shop.example.com/", at, 60, 10, 10, (("200", 10.0),))

    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        store.record_slo_minutes("prod", [minute(T0), minute(T0 + 60)])
        store.record_slo_minutes("prod", [minute(T0 + 36 * 86_400)])
        store.flush()
        assert [w.window_start for w in store.slo_traffic("prod", T0, T0 + 40 * 86_400)] == [
            T0 + 36 * 86_400
        ]
        hours = store.slo_traffic("prod", T0, T0 + 40 * 86_400, seconds=3600)
        assert [(h.window_start, h.total) for h in hours] == [(T0, 20), (T0 + 36 * 86_400, 10)]
