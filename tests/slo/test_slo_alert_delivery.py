"""A burn-rate alert goes the way of every alert: an anomaly for the dispatcher, grouped,
through the outbox, to a webhook, in the channel's language."""

from __future__ import annotations

import json
import time
from pathlib import Path

import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import load_config
from headless_agent.store import HistoryStore, SloWindow
from tests.alerts.receivers import HttpReceiver, wait_until

SETTINGS = """[grouping]
group_wait = "200ms"
group_interval = "500ms"

[[channels]]
name = "hook"
type = "webhook"
url = "{url}"

[[rules]]
name = "slo"
channels = ["hook"]
reasons = ["SLOErrorBudgetBurn"]

[[slos]]
name = "checkout"
host = "shop.example.com"
path = "/checkout"
availability = 99.9
"""


async def test_a_fast_burn_reaches_the_webhook(tmp_path: Path, nursery: trio.Nursery) -> None:
    webhook = HttpReceiver()
    await webhook.start(nursery)
    settings = tmp_path / "alerts.toml"
    settings.write_text(SETTINGS.format(url=f"{webhook.url}/in"))
    config = load_config(settings, environ={})
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    await nursery.start(store.run)
    alerting = Alerting(config, store, poll=0.3)
    alerting.slo_alerts.interval = 0.2
    # The last two hours: 1000 requests a minute, half of them 503.
    now = time.time() // 60 * 60
    store.record_slo_minutes(
        "prod",
        [
            SloWindow(
                "shop.example.com/checkout",
                now - 60 * i,
                60,
                500,
                1000,
                (("200", 500.0), ("503", 500.0)),
            )
            for i in range(1, 121)
        ],
    )
    nursery.start_soon(alerting.run)
    await wait_until(lambda: webhook.received, 20, "the firing notification")
    [firing] = [json.loads(r.body) for r in webhook.received]
    assert firing["status"] == "firing" and firing["rule"] == "slo"
    [alert] = firing["alerts"]
    assert (alert["kind"], alert["name"], alert["reason"], alert["severity"]) == (
        "SLO",
        "checkout",
        "SLOErrorBudgetBurn",
        "critical",
    )
    assert "SLO checkout: errors are burning the error budget 500× as fast" in firing["text"]
    assert "above 14.4× over 1h and over 5m" in firing["text"]
