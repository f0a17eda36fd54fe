"""Shared pieces for the store tests: a settable clock, a small layout, opening helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headless_agent.detect.anomaly import (
    Anomaly,
    AnomalyKey,
    Severity,
    Transition,
    TransitionType,
)
from headless_agent.state.records import EventRecord, parse_event
from headless_agent.store import HistoryStore, SeriesLayout, TierSpec, WriterOptions
from tests.unit import raw_objects

T0 = 1_700_000_000.0
DAY = 86_400.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


#: Seconds instead of hours, so a test crosses many windows, spans and tiers quickly.
TINY = SeriesLayout(
    raw=TierSpec("raw", 1.0, 8.0, 10 * DAY),
    rollups=(
        TierSpec("a", 2.0, 16.0, 10 * DAY),
        TierSpec("b", 4.0, 32.0, 10 * DAY),
        TierSpec("c", 8.0, 64.0, 10 * DAY),
    ),
    seal_delay=1.0,
    idle_seal_delay=3.0,
    max_rate_gap=5.0,
)

FAST = WriterOptions(batch_window=0.01, idle_maintenance=0.2)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "history.sqlite3", clock=clock, options=FAST) as opened:
        yield opened


def anomaly(
    reason: str = "CrashLoopBackOff",
    *,
    name: str = "checkout",
    first_seen: float = T0,
    last_seen: float | None = None,
    resolved_at: float | None = None,
    count: int = 1,
    severity: Severity = Severity.CRITICAL,
    cluster: str = "prod",
) -> Anomaly:
    return Anomaly(
        key=AnomalyKey(cluster, "Deployment", "shop", name, reason),
        severity=severity,
        message_id="anomaly.crashloop",
        params=(("container", "main"), ("restarts", str(count * 3))),
        first_seen=first_seen,
        last_seen=last_seen if last_seen is not None else first_seen,
        count=count,
        members=tuple(f"{name}-{i}" for i in range(count)),
        resolved_at=resolved_at,
    )


def transition(kind: TransitionType, **fields: Any) -> Transition:
    return Transition(kind, anomaly(**fields))


def warning(
    name: str,
    reason: str = "BackOff",
    *,
    count: int = 1,
    last: float = T0,
    obj: str = "checkout-1",
    message: str | None = None,
    kind: str = "Warning",
) -> EventRecord:
    raw = raw_objects.event(name, reason, count=count, last=last, obj=obj, type=kind)
    if message is not None:
        raw["message"] = message
    record = parse_event(raw)
    assert isinstance(record, EventRecord)
    return record
