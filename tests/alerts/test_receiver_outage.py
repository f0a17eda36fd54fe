"""A receiver that is gone for two minutes — nothing listening on its port — while
incidents keep coming: when it is back, every notification arrives exactly once, in order.

This takes real time (about three minutes: the outage, then the backoff's next try), so
the receiver, the sockets and the retries are exactly what a user would have."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import AlertConfig, Channel, Grouping, Rule
from headless_agent.detect.anomaly import Transition, TransitionType
from headless_agent.store import HistoryStore
from tests.alerts.receivers import HttpReceiver, free_port, wait_until
from tests.alerts.test_alerting import _anomaly

OUTAGE = 120.0


async def test_a_receiver_gone_for_two_minutes_gets_every_notification_once(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    port = free_port()
    channel = Channel("hook", "webhook", "en", {"url": f"http://127.0.0.1:{port}/in"})
    config = AlertConfig(
        {"hook": channel}, (Rule("r", ("hook",)),), Grouping(group_wait=0.5, group_interval=1)
    )
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    await nursery.start(store.run)
    alerting = Alerting(config, store, poll=0.5)
    nursery.start_soon(alerting.run)
    started = trio.current_time()

    def incident(name: str, kind: TransitionType = TransitionType.OPENED) -> None:
        anomaly = _anomaly(name, resolved=1.0 if kind is TransitionType.RESOLVED else None)
        alerting.dispatcher.on_transition("prod", Transition(kind, anomaly))

    for name in ("a", "b", "c"):
        incident(name)
    await wait_until(lambda: alerting.delivery.failures >= 1, 20, "the first refused connection")
    await trio.sleep_until(started + OUTAGE / 2)
    for name in ("d", "e"):  # new incidents while the receiver is away
        incident(name)
    await trio.sleep_until(started + OUTAGE * 3 / 4)
    incident("a", TransitionType.RESOLVED)  # an end, too, while it is away
    await trio.sleep_until(started + OUTAGE)
    await trio.to_thread.run_sync(store.flush)
    pending = store.alert_outbox(states=("pending",), in_order=True)
    assert len(pending) == 6, [a.dedup_key for a in pending]
    # The oldest has been tried again and again; the rest wait behind it, in order.
    assert pending[0].attempts >= 4 and "ConnectError" in pending[0].last_error
    assert [a.attempts for a in pending[1:]] == [0] * 5

    receiver = HttpReceiver(port=port)  # back, where it was
    await receiver.start(nursery)
    await wait_until(lambda: len(receiver.received) >= 6, 120, "every notification")
    await trio.sleep(3)  # nothing more comes
    bodies = [json.loads(r.body) for r in receiver.received]
    ids = [body["id"] for body in bodies]
    assert len(ids) == len(set(ids)) == 6
    named = [(body["status"], (body["alerts"] or body["resolved"])[0]["name"]) for body in bodies]
    assert sorted(named) == sorted([("firing", n) for n in "abcde"] + [("resolved", "a")]), named
    # In the order they were written: a's end comes after a's start.
    assert named.index(("firing", "a")) < named.index(("resolved", "a"))
    await trio.to_thread.run_sync(store.flush)
    assert store.alert_outbox(states=("pending", "failed")) == []
    nursery.cancel_scope.cancel()
