"""The audit log: every operation a user started, hash-chained so edits show.

Each entry's hash covers its own fields and the previous entry's hash (SHA-256 over a
canonical JSON array), so changing, inserting or deleting any row breaks the chain from
there on; ``verify`` walks it and names the first entry that does not fit. Retention may
drop the oldest entries: it then keeps the last dropped entry's hash as the *anchor* the
chain continues from, so a verified log stays verifiable. (An attacker who can rewrite
the whole file can rewrite the whole chain: this makes tampering evident, it does not
make it impossible. Export the log elsewhere to keep a copy out of reach.)

Secrets never enter it: parameter values whose names look like credentials are replaced
before the entry is written (``redact``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from headless_agent.store.records import AuditEntry

GENESIS = "0" * 64
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"token|password|passwd|secret|credential|authorization|api[_-]?key|private[_-]?key"
    r"|cookie|bearer",
    re.IGNORECASE,
)

#: the columns hashed, in order (the chain's definition: never reorder)
_HASHED = (
    "at",
    "actor",
    "identity",
    "cluster",
    "via",
    "action",
    "target_kind",
    "target_namespace",
    "target_name",
    "parameters",
    "outcome",
    "error",
    "detail",
    "duration",
    "request_key",
)


def redact(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters with every value under a credential-like name replaced, at any depth."""

    def clean(value: Any, name: str = "") -> Any:
        if name and _SECRET_NAME.search(name):
            return REDACTED
        if isinstance(value, Mapping):
            return {str(k): clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return {str(k): clean(v, str(k)) for k, v in parameters.items()}


def _canonical(values: Mapping[str, Any]) -> bytes:
    return json.dumps(
        [values[c] for c in _HASHED], sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def entry_hash(previous: str, values: Mapping[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + _canonical(values)).hexdigest()


def _row_values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "identity": entry.identity,
        "cluster": entry.cluster or "",
        "via": entry.via,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_namespace": entry.target_namespace,
        "target_name": entry.target_name,
        "parameters": json.dumps(redact(entry.parameters), sort_keys=True, default=str),
        "outcome": entry.outcome,
        "error": entry.error,
        "detail": entry.detail,
        "duration": entry.duration,
        "request_key": entry.request_key,
    }


def last_hash(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    if row is not None:
        return str(row[0])
    return anchor(db)


_ANCHOR, _TIP = 1, 2  # rows of audit_anchor: where the chain starts, where it ends


def anchor(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT hash FROM audit_anchor WHERE id = ?", (_ANCHOR,)).fetchone()
    return str(row[0]) if row is not None else GENESIS


def _set(db: sqlite3.Connection, slot: int, value: str) -> None:
    db.execute(
        "INSERT INTO audit_anchor (id, hash) VALUES (?, ?) "
        "ON CONFLICT(id) DO UPDATE SET hash = excluded.hash",
        (slot, value),
    )


def _tip(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT hash FROM audit_anchor WHERE id = ?", (_TIP,)).fetchone()
    return str(row[0]) if row is not None else None


def append(db: sqlite3.Connection, cluster_id: int | None, entry: AuditEntry) -> None:
    """Append one entry at the end of the chain (inside the writer's transaction)."""
    values = _row_values(entry)
    previous = last_hash(db)
    columns = ", ".join(_HASHED)
    marks = ", ".join("?" for _ in _HASHED)
    current = entry_hash(previous, values)
    db.execute(
        f"INSERT INTO audit_log (cluster_id, prev_hash, entry_hash, {columns}) "
        f"VALUES (?, ?, ?, {marks})",
        (cluster_id, previous, current, *(values[c] for c in _HASHED)),
    )
    # The tip: deleting the newest entries would otherwise leave a chain that holds.
    _set(db, _TIP, current)


def has_key(db: sqlite3.Connection, key: str) -> bool:
    row = db.execute("SELECT 1 FROM audit_log WHERE request_key = ? LIMIT 1", (key,)).fetchone()
    return row is not None


def rechain(db: sqlite3.Connection) -> None:
    """Hash every entry in order (the migration that introduced the chain)."""
    previous = anchor(db)
    columns = ", ".join(_HASHED)
    rows = db.execute(f"SELECT id, {columns} FROM audit_log ORDER BY id").fetchall()
    for row in rows:
        values = dict(zip(_HASHED, row[1:], strict=True))
        current = entry_hash(previous, values)
        db.execute(
            "UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE id = ?",
            (previous, current, row[0]),
        )
        previous = current
    _set(db, _TIP, previous)


def drop_before(db: sqlite3.Connection, cutoff: float, limit: int) -> int:
    """Retention: delete up to ``limit`` of the oldest entries written before ``cutoff``
    (a prefix of the chain: it stops at the first newer one), keeping the anchor."""
    prefix = []
    for entry_id, at, stored in db.execute(
        "SELECT id, at, entry_hash FROM audit_log ORDER BY id LIMIT ?", (limit,)
    ):
        if at >= cutoff:
            break
        prefix.append((entry_id, stored))
    if not prefix:
        return 0
    last_id, last = prefix[-1]
    db.execute("DELETE FROM audit_log WHERE id <= ?", (last_id,))
    _set(db, _ANCHOR, last)
    return len(prefix)


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of walking the chain."""

    entries: int
    #: the id of the first entry that does not fit (None: the chain holds; -1: the end
    #: of the log is missing)
    broken_at: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(db: sqlite3.Connection) -> AuditVerification:
    previous = anchor(db)
    columns = ", ".join(_HASHED)
    count = 0
    for row in db.execute(
        f"SELECT id, prev_hash, entry_hash, {columns} FROM audit_log ORDER BY id"
    ):
        entry_id, stored_previous, stored = row[0], row[1], row[2]
        values = dict(zip(_HASHED, row[3:], strict=True))
        if stored_previous != previous:
            return AuditVerification(
                count,
                entry_id,
                f"entry {entry_id} does not follow the one before it "
                "(an entry before it was deleted or inserted)",
            )
        if entry_hash(previous, values) != stored:
            return AuditVerification(
                count, entry_id, f"entry {entry_id} was changed after it was written"
            )
        previous = stored
        count += 1
    tip = _tip(db)
    if tip is not None and tip != previous:
        return AuditVerification(
            count, -1, f"the newest entries were deleted (the log ends before entry {count + 1})"
        )
    return AuditVerification(count, None, f"all {count} entries are intact")


def rows(db: sqlite3.Connection) -> Iterable[dict[str, Any]]:
    """Every entry with its id and hashes, oldest first (for export)."""
    columns = ", ".join(_HASHED)
    cursor = db.execute(f"SELECT id, prev_hash, entry_hash, {columns} FROM audit_log ORDER BY id")
    names = ["id", "prev_hash", "entry_hash", *_HASHED]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def export(db: sqlite3.Connection, fmt: str) -> str:
    """The whole log as CSV or JSON (one object per entry, hashes included)."""
    entries = list(rows(db))
    if fmt == "json":
        for entry in entries:
            entry["parameters"] = json.loads(entry["parameters"] or "{}")
        return json.dumps(entries, indent=2, ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["id", "prev_hash", "entry_hash", *_HASHED])
        writer.writeheader()
        writer.writerows(entries)
        return out.getvalue()
    raise ValueError(f"unknown export format {fmt!r} (csv or json)")
