"""What the desktop needs of alerting: its own ``desktop`` channel (left out where there is
no desktop), a test send of any channel, and edited settings applied while running."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.channels import DeliveryFailed
from headless_agent.alerts.config import AlertConfig, Channel, Grouping, Rule, load_config
from headless_agent.alerts.settings_file import TEMPLATE, desktop_defaults, load_or_defaults
from headless_agent.detect.anomaly import Severity, Transition, TransitionType
from headless_agent.store import HistoryStore
from tests.alerts.receivers import HttpReceiver, wait_until
from tests.alerts.test_alerting import _anomaly

SECRET = "signing-key"


def _hook(receiver: HttpReceiver, name: str = "hook") -> Channel:
    return Channel(name, "webhook", "en", {"url": f"{receiver.url}/{name}"}, {"secret": SECRET})


def test_without_a_desktop_its_channel_is_left_out_of_every_rule(tmp_path: Path) -> None:
    channels = {
        "desktop": Channel("desktop", "desktop"),
        "hook": Channel("hook", "webhook", "en", {"url": "http://127.0.0.1:9/x"}),
    }
    rules = (
        Rule("both", ("desktop", "hook"), Severity.CRITICAL),
        Rule("tray-only", ("desktop",), Severity.WARNING),
    )
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    headless = Alerting(AlertConfig(channels, rules), store)
    assert list(headless.config.channels) == ["hook"]
    assert [(r.name, r.channels) for r in headless.config.rules] == [("both", ("hook",))]
    desktop = Alerting(AlertConfig(channels, rules), store, notify=lambda payload: None)
    assert desktop.config.rules == rules


def test_the_template_and_the_built_in_settings_agree(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(TEMPLATE)
    from_file = load_config(path)
    assert from_file.rules == desktop_defaults().rules
    assert from_file.channels == desktop_defaults().channels
    assert load_or_defaults(tmp_path / "missing.toml") == (desktop_defaults(), [])


async def test_a_test_send_uses_the_real_wire_format_and_reports_failure_in_words(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    receiver = HttpReceiver()
    await receiver.start(nursery)
    shown: list[Any] = []
    channels = {
        "hook": _hook(receiver),
        "desktop": Channel("desktop", "desktop"),
        "gone": Channel("gone", "webhook", "en", {"url": "http://127.0.0.1:9/x"}),
    }
    config = AlertConfig(channels, (Rule("r", ("hook",)),))
    alerting = Alerting(config, HistoryStore.open(tmp_path / "h.sqlite3"), notify=shown.append)
    await alerting.send_test("hook")
    [received] = receiver.received
    digest = hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["x-atlhyper-signature"] == f"sha256={digest}"
    body = json.loads(received.body)
    assert body["rule"] == "test" and "test notification" in body["text"]
    await alerting.send_test("desktop")
    assert shown and shown[0]["rule"] == "test"
    receiver.status = 400
    with pytest.raises(DeliveryFailed, match="HTTP 400"):
        await alerting.send_test("hook")
    with pytest.raises(DeliveryFailed, match="ConnectError"):
        await alerting.send_test("gone")
    assert alerting.store.alert_deliveries() == []  # a test is not a notification


async def test_edited_settings_apply_at_once_and_open_groups_go_on(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    first, second = HttpReceiver(), HttpReceiver()
    await first.start(nursery)
    await second.start(nursery)
    rule = Rule("crashes", ("first",), Severity.CRITICAL)
    grouping = Grouping(group_wait=0.2, group_interval=0.5)
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    await nursery.start(store.run)
    alerting = Alerting(AlertConfig({"first": _hook(first, "first")}, (rule,), grouping), store,
                        poll=0.2)  # fmt: skip
    nursery.start_soon(alerting.run)
    alerting.dispatcher.on_transition("prod", Transition(TransitionType.OPENED, _anomaly()))
    await wait_until(lambda: first.received, 10, "the first channel")

    # The rule now sends to a channel that did not exist when alerting started.
    channels = {"first": _hook(first, "first"), "second": _hook(second, "second")}
    moved = Rule("crashes", ("second",), Severity.CRITICAL)
    alerting.reconfigure(AlertConfig(channels, (moved,), grouping))
    resolved = _anomaly(resolved=1.0)
    alerting.dispatcher.on_transition("prod", Transition(TransitionType.RESOLVED, resolved))
    await wait_until(lambda: second.received, 10, "the resolve on the new channel")
    [opened], [closed] = first.received, second.received
    opened_body, closed_body = json.loads(opened.body), json.loads(closed.body)
    # One group across the change: the resolve continues the announcement's sequence.
    assert closed_body["status"] == "resolved" and closed_body["group"] == opened_body["group"]
    assert closed_body["id"].endswith("-1") and opened_body["id"].endswith("-0")

    # A removed rule forgets its groups; nothing more is sent for it.
    alerting.reconfigure(AlertConfig(channels, (), grouping))
    alerting.dispatcher.on_transition("prod", Transition(TransitionType.OPENED, _anomaly("b")))
    await trio.sleep(1.5)
    assert len(first.received) == 1 and len(second.received) == 1
