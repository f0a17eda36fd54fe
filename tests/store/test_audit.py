"""The audit log's hash chain: any edit or deletion is found, secrets never written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from headless_agent.store import AuditEntry, HistoryStore, RetentionRule, audit
from tests.store.conftest import DAY, FAST, T0, Clock


def _entry(i: int, **changes: object) -> AuditEntry:
    fields: dict[str, object] = dict(
        at=T0 + i,
        actor="alice",
        action="scale",
        outcome="succeeded",
        cluster="prod",
        target_kind="Deployment",
        target_namespace="shop",
        target_name=f"app-{i}",
        parameters={"replicas": i},
        identity="kubernetes-admin",
        via="context prod",
        duration=0.25,
        request_key=f"key-{i}",
    )
    fields.update(changes)
    return AuditEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    with HistoryStore.open(path, options=FAST) as store:
        for i in range(10):
            store.record_audit(_entry(i))
        store.flush()
        assert store.verify_audit().ok
        assert store.verify_audit().entries == 10
    return path


def _tamper(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    connection.execute(sql)
    connection.commit()
    connection.close()


def _verify(path: Path) -> tuple[int | None, str]:
    with HistoryStore.open(path, options=FAST) as store:
        result = store.verify_audit()
    return result.broken_at, result.reason


@pytest.mark.parametrize(
    ("sql", "broken_at", "words"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE id = 4", 4, "changed"),
        ("UPDATE audit_log SET parameters = '{\"replicas\": 0}' WHERE id = 7", 7, "changed"),
        ("UPDATE audit_log SET outcome = 'failed' WHERE id = 1", 1, "changed"),
        ("DELETE FROM audit_log WHERE id = 5", 6, "deleted or inserted"),
        ("DELETE FROM audit_log WHERE id = 1", 2, "deleted or inserted"),
        ("DELETE FROM audit_log WHERE id = 10", -1, "newest entries were deleted"),
        ("DELETE FROM audit_log WHERE id >= 8", -1, "newest entries were deleted"),
    ],
)
def test_any_edit_or_deletion_is_found(filled: Path, sql: str, broken_at: int, words: str) -> None:
    _tamper(filled, sql)
    found, reason = _verify(filled)
    assert found == broken_at and words in reason


def test_a_forged_row_with_a_fresh_hash_still_breaks_the_chain(filled: Path) -> None:
    # Recomputing one row's own hash is not enough: the next row names the old one.
    columns = ", ".join(audit._HASHED)
    connection = sqlite3.connect(filled)
    previous, *values = connection.execute(
        f"SELECT prev_hash, {columns} FROM audit_log WHERE id = 3"
    ).fetchone()
    forged = dict(zip(audit._HASHED, values, strict=True))
    forged["actor"] = "mallory"
    connection.execute(
        "UPDATE audit_log SET actor = 'mallory', entry_hash = ? WHERE id = 3",
        (audit.entry_hash(previous, forged),),
    )
    connection.commit()
    connection.close()
    found, reason = _verify(filled)
    assert found == 4 and "deleted or inserted" in reason


def test_secrets_are_redacted_everywhere(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3", options=FAST) as store:
        store.record_audit(
            _entry(
                1,
                action="set-image",
                parameters={
                    "image": "ghcr.io/acme/app:2",
                    "token": "s3cr3t-token",
                    "env": {"DB_PASSWORD": "hunter2", "MODE": "fast"},
                    "headers": [{"Authorization": "Bearer abc"}],
                },
            )
        )
        store.flush()
        [entry] = store.audit_log(0, 2e10)
        exported = store.export_audit("json") + store.export_audit("csv")
    assert entry.parameters["image"] == "ghcr.io/acme/app:2"
    assert entry.parameters["env"] == {"DB_PASSWORD": "[redacted]", "MODE": "fast"}
    for secret in ("s3cr3t-token", "hunter2", "Bearer abc"):
        assert secret not in exported and secret not in json.dumps(entry.parameters)
    raw = (tmp_path / "h.sqlite3").read_bytes()
    assert b"hunter2" not in raw and b"s3cr3t-token" not in raw


def test_export_holds_every_entry_with_its_hashes(filled: Path) -> None:
    with HistoryStore.open(filled, options=FAST) as store:
        entries = json.loads(store.export_audit("json"))
        csv_text = store.export_audit("csv")
    assert [e["target_name"] for e in entries] == [f"app-{i}" for i in range(10)]
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"]
    assert entries[3]["parameters"] == {"replicas": 3}
    assert csv_text.splitlines()[0].startswith("id,prev_hash,entry_hash,at,actor")
    assert len(csv_text.splitlines()) == 11


def test_retention_keeps_the_chain_verifiable(tmp_path: Path) -> None:
    clock = Clock(T0)
    with HistoryStore.open(tmp_path / "h.sqlite3", clock=clock, options=FAST) as store:
        for i in range(6):
            store.record_audit(_entry(i, at=T0 + i * DAY))
        store.flush()
        clock.now = T0 + 10 * DAY
        store.set_retention("audit", RetentionRule(max_age=7 * DAY))
        store.run_retention()
        kept = store.audit_log(0, 2e10)
        assert [e.target_name for e in kept] == ["app-3", "app-4", "app-5"]
        result = store.verify_audit()
        assert result.ok and result.entries == 3
        store.record_audit(_entry(9, at=clock.now))
        store.flush()
        assert store.verify_audit().ok
