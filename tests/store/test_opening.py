"""Opening the history file: where it lives, migrations from every earlier schema version,
and files that are not ours, damaged or newer, which are refused and left untouched."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from headless_agent.store import (
    LATEST_VERSION,
    AuditEntry,
    CorruptDatabase,
    ForeignDatabase,
    HistoryStore,
    NewerSchema,
    NotADatabase,
    SeriesLayout,
    SeriesSelector,
    audit,
    default_history_path,
    set_aside,
)
from headless_agent.store.codec import encode_chunk
from headless_agent.store.schema import APPLICATION_ID, migrate
from tests.store.conftest import FAST, T0, Clock

# --- where ---------------------------------------------------------------------------------


def test_the_file_lives_in_the_data_directory_unless_told_otherwise(tmp_path: Path) -> None:
    default = default_history_path(environment={})
    assert default.name == "history.sqlite3"
    assert "atlhyper" in str(default.parent).lower()
    assert default_history_path(environment={"ATLHYPER_DB": "/srv/h.db"}) == Path("/srv/h.db")
    # An explicit setting beats the environment variable.
    assert default_history_path(tmp_path / "x.db", environment={"ATLHYPER_DB": "/srv/h.db"}) == (
        tmp_path / "x.db"
    )


def test_atlhyper_db_decides_where_a_store_opened_without_a_path_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "nested" / "dir" / "mine.sqlite3"
    monkeypatch.setenv("ATLHYPER_DB", str(target))
    with HistoryStore.open(options=FAST) as store:
        assert store.path == target
    assert target.exists()


# --- migrations ----------------------------------------------------------------------------


def _fill_version(connection: sqlite3.Connection, version: int) -> None:
    """Rows as a file of schema ``version`` would hold them, written with that version's SQL."""
    if version >= 1:
        connection.execute(
            "INSERT INTO clusters (id, identity, display_name, kube_system_uid, first_seen, "
            "last_seen) VALUES (1, 'uid:abc', 'prod', 'abc', ?, ?)",
            (T0, T0),
        )
        connection.execute("INSERT INTO cluster_names VALUES ('prod', 1, ?)", (T0,))
        connection.execute(
            "INSERT INTO anomalies (id, cluster_id, kind, namespace, name, reason, severity, "
            "message, message_id, params, first_seen, last_seen, resolved_at, count, members) "
            "VALUES (1, 1, 'Deployment', 'shop', 'checkout', 'OOMKilled', 2, 'old text', "
            "'anomaly.oom', ?, ?, ?, NULL, 1, ?)",
            (json.dumps([["container", "main"]]), T0, T0, json.dumps(["checkout-1"])),
        )
        connection.execute(
            "INSERT INTO anomaly_transitions (anomaly_id, at, type, severity, message, "
            "message_id, params, count) VALUES (1, ?, 'opened', 2, 'old text', 'anomaly.oom', "
            "'[]', 1)",
            (T0,),
        )
    if version >= 2:
        connection.execute(
            "INSERT INTO warning_events (cluster_id, event_key, namespace, name, reason, "
            "message, object_kind, object_namespace, object_name, object_uid, count, "
            "first_seen, last_seen, source) VALUES (1, 'ev-uid', 'shop', 'ev-1', 'BackOff', "
            "'Back-off restarting failed container', 'Pod', 'shop', 'checkout-1', 'p', 4, ?, ?, "
            "'kubelet')",
            (T0, T0),
        )
    if version >= 3:
        connection.execute("INSERT INTO series_sources (id, cluster_id, node) VALUES (1, 1, 'n1')")
        connection.execute(
            "INSERT INTO series (id, source_id, name, kind, unit) VALUES (1, 1, 'load1', "
            "'gauge', '')"
        )
        times = np.array([T0 * 1000 + 15_000 * i for i in range(4)], dtype=np.int64)
        blob = encode_chunk(times, [1], [1], np.array([[0.5], [0.75], [1.0], [1.25]]))
        window = int(T0 * 1000) // 7_200_000 * 7_200_000
        connection.execute(
            "INSERT INTO chunks_raw (source_id, start, end, rows, data) VALUES (1, ?, ?, 4, ?)",
            (window, window + 7_200_000, blob),
        )
        connection.execute(
            "INSERT INTO pod_restarts (cluster_id, pod_uid, namespace, pod, owner_kind, "
            "owner_name, node, observed_at, restart_count, increase, last_reason, "
            "last_restart_at) VALUES (1, 'p', 'shop', 'checkout-1', 'Deployment', 'checkout', "
            "'n1', ?, 3, 3, 'OOMKilled', NULL)",
            (T0,),
        )
    if version >= 5:  # written by a version that chains its entries
        for offset, actor in enumerate(("alice", "bob")):
            audit.append(
                connection,
                1,
                AuditEntry(T0 + offset, actor, "scale", "ok", "prod", "Deployment", "shop",
                           "checkout", {"replicas": 3}),
            )  # fmt: skip
    elif version == 4:
        for offset, actor in enumerate(("alice", "bob")):
            connection.execute(
                "INSERT INTO audit_log (at, actor, cluster_id, action, target_kind, "
                "target_namespace, target_name, parameters, outcome, detail) "
                "VALUES (?, ?, 1, 'scale', 'Deployment', 'shop', 'checkout', "
                "'{\"replicas\": 3}', 'ok', '')",
                (T0 + offset, actor),
            )


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_a_file_of_every_earlier_version_migrates_and_keeps_its_history(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    if version:
        connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        migrate(connection, SeriesLayout(), target=version)
        connection.execute("BEGIN")
        _fill_version(connection, version)
        connection.execute("COMMIT")
    connection.close()

    clock = Clock(T0 + 60)
    with HistoryStore.open(path, clock=clock, options=FAST) as store:
        assert store.previous_version == version
        # New history goes in next to the old.
        store.record_events("prod", [])
        store.flush()
        if version >= 1:
            (episode,) = store.anomaly_timeline("prod", T0 - 1, T0 + 1)
            assert (episode.reason, episode.message_id, episode.params) == (
                "OOMKilled",
                "anomaly.oom",
                (("container", "main"),),
            )
            assert episode.transitions[0].type == "opened"
        if version >= 2:
            (event,) = store.search_events("prod", text="failed contain")
            assert event.count == 4
        if version >= 3:
            (load,) = store.query_series(SeriesSelector("prod"), T0, T0 + 60, resolution="raw")
            assert load.average.tolist() == [0.5, 0.75, 1.0, 1.25]
            assert store.pod_restarts("prod", T0, T0)[0].increase == 3
        if version >= 4:
            # The entries written before the chain existed are chained by the migration.
            assert [(e.actor, e.cluster) for e in store.audit_log(T0, T0 + 5)] == [
                ("alice", "prod"),
                ("bob", "prod"),
            ]
        verification = store.verify_audit()
        assert verification.ok and verification.entries == (2 if version >= 4 else 0)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()


def test_a_new_file_is_created_at_the_latest_version(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "new.sqlite3", options=FAST) as store:
        assert store.previous_version == 0
    connection = sqlite3.connect(tmp_path / "new.sqlite3")
    assert connection.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    connection.close()


# --- files that are not ours ---------------------------------------------------------------


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"%PDF-1.7 this is somebody's document" + bytes(range(256)) * 20)
    before = _fingerprint(path)
    with pytest.raises(NotADatabase) as raised:
        HistoryStore.open(path)
    message = str(raised.value)
    assert str(path) in message and "not an SQLite database" in message and "%PDF" in message
    assert "ATLHYPER_DB" in message  # says what to do
    assert _fingerprint(path) == before
    assert not Path(f"{path}-wal").exists()


def test_another_applications_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    other.execute("INSERT INTO invoices VALUES (1, 99.5)")
    other.commit()
    other.close()
    before = _fingerprint(path)
    with pytest.raises(ForeignDatabase, match="invoices"):
        HistoryStore.open(path)
    assert _fingerprint(path) == before
    assert not Path(f"{path}-wal").exists()  # not even switched to WAL


def test_a_database_with_another_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    other = sqlite3.connect(path)
    other.execute("PRAGMA application_id = 1234")
    other.commit()
    other.close()
    with pytest.raises(ForeignDatabase, match="0x4d2"):
        HistoryStore.open(path)


def test_a_file_from_a_newer_atlhyper_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore.open(path, options=FAST).close()
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    newer.commit()
    newer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    newer.close()
    before = _fingerprint(path)
    with pytest.raises(NewerSchema, match="newer AtlHyper"):
        HistoryStore.open(path)
    assert _fingerprint(path) == before


def test_a_damaged_file_is_detected_at_open(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path, clock=clock, options=FAST) as store:
        store.record_events("prod", [])
        for i in range(200):
            store.record_audit(_audit(i))
        store.flush()
    checkpoint = sqlite3.connect(path)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    size = path.stat().st_size
    with path.open("r+b") as handle:  # scribble over the pages after the schema
        handle.seek(size // 2)
        handle.write(os.urandom(8192))
    before = _fingerprint(path)
    with pytest.raises(CorruptDatabase) as raised:
        HistoryStore.open(path, check="full")
    assert "damaged" in str(raised.value) or "cannot be read" in str(raised.value)
    assert _fingerprint(path) == before


def test_a_refused_file_can_be_set_aside_on_request(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not sqlite at all")
    Path(f"{path}-wal").write_bytes(b"wal")
    moved = set_aside(path)
    assert not path.exists() and moved.read_bytes() == b"not sqlite at all"
    assert Path(f"{moved}-wal").read_bytes() == b"wal"
    with HistoryStore.open(path, options=FAST):  # a fresh history now
        pass


def test_an_empty_file_becomes_a_history_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.touch()
    with HistoryStore.open(path, options=FAST) as store:
        assert store.previous_version == 0


def _audit(i: int) -> AuditEntry:
    return AuditEntry(T0 + i, "alice", "scale", "ok", "prod", detail="x" * 200)
