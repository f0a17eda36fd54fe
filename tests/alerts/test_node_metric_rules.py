"""Node-metric rules over a real history file, with samples written as the product writes
them (live scrapes, and blocks as an agent filling a gap or the demo's backfill): the hold
is respected, alerts open, change severity and resolve, a filling disk is foreseen, and
the notifications reach a webhook through the real dispatcher and delivery."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import trio

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import AlertConfig, load_config
from headless_agent.alerts.dispatcher import Dispatcher
from headless_agent.alerts.node_metrics import STALE_AFTER, NodeMetricRules
from headless_agent.detect.anomaly import AnomalyKey, Severity, Transition, TransitionType
from headless_agent.hub import Hub
from headless_agent.store import HistoryStore, NodeSampleBlock, NodeSamples, series_name
from tests.alerts.receivers import HttpReceiver, wait_until

T0 = 1_795_000_000.0
STEP = 15.0
IDLE = 'cpu_usage_percent{mode="idle"}'
CHANNELS = """[[channels]]
name = "hook"
type = "webhook"
url = "{url}"
"""


def _disk(mountpoint: str, device: str = "/dev/sda1") -> str:
    labels = {"device": device, "fstype": "ext4", "mountpoint": mountpoint}
    return series_name("filesystem_used_percent", labels)


def _config(
    tmp_path: Path, rules: str, url: str = "http://127.0.0.1:1", extra: str = ""
) -> AlertConfig:
    path = tmp_path / "alerts.toml"
    path.write_text(extra + CHANNELS.format(url=url) + rules)
    return load_config(path, environ={})


class Rig:
    """A history file, the rules of a settings file, and a clock the test moves."""

    def __init__(self, tmp_path: Path, rules: str) -> None:
        self.now = T0
        clock: Callable[[], float] = lambda: self.now  # noqa: E731
        self.store = HistoryStore.open(tmp_path / "h.sqlite3", clock=clock)
        self.dispatcher = Dispatcher(_config(tmp_path, rules), self.store, clock=clock)
        self.rules = NodeMetricRules(self.dispatcher, self.store, clock=clock)
        self.seen: list[Transition] = []

    def scrape(self, **nodes: dict[str, float]) -> None:
        """One live scrape per node, now."""
        self.store.record_node_samples(
            "prod", [NodeSamples(node, self.now, gauges) for node, gauges in nodes.items()]
        )

    async def run(self, seconds: float, **nodes: dict[str, float]) -> list[Transition]:
        """Scrape and evaluate every 15 s for ``seconds``; the transitions on the way."""
        found = []
        for _ in range(round(seconds / STEP)):
            self.now += STEP
            if nodes:
                self.scrape(**nodes)
            found += await self.rules.evaluate()
        self.seen += found
        return found

    def close(self) -> None:
        self.store.close()


def _steps(transitions: list[Transition]) -> list[tuple[str, str, str, str]]:
    return [
        (t.type.value, t.anomaly.key.name, t.anomaly.key.reason, t.anomaly.severity.label)
        for t in transitions
    ]


CPU_RULE = """
[[rules]]
name = "cpu"
channels = ["hook"]
metric = "cpu"
above = 90
for = "5m"
"""


async def test_cpu_must_stay_high_for_the_hold_then_fires_and_resolves(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CPU_RULE)
    calm, busy = {IDLE: 50.0}, {IDLE: 4.0}
    assert await rig.run(600, **{"worker-1": calm, "worker-2": calm}) == []
    # A blip of four minutes above the threshold, then calm again: nothing to say.
    assert await rig.run(240, **{"worker-1": busy, "worker-2": calm}) == []
    assert await rig.run(60, **{"worker-1": calm, "worker-2": calm}) == []
    # Busy for good: nothing until it has held for five minutes, then one alert.
    started = rig.now + STEP
    assert await rig.run(285, **{"worker-1": busy, "worker-2": calm}) == []
    opened = await rig.run(30, **{"worker-1": busy, "worker-2": calm})
    assert _steps(opened) == [("opened", "worker-1", "NodeCPUHigh", "warning")]
    [transition] = opened
    alert = transition.anomaly
    assert alert.key == AnomalyKey("prod", "Node", "", "worker-1", "NodeCPUHigh")
    assert alert.first_seen == started and alert.members == ("worker-1",)
    assert alert.text("en") == "node worker-1 is using 96% of its CPU (above 90% for 5 min)"
    assert alert.text("zh") == "节点 worker-1 的 CPU 使用率为 96%（超过 90% 已持续 5 分钟）"
    # Still busy: said once. Calm: resolved at the next evaluation.
    assert await rig.run(600, **{"worker-1": busy, "worker-2": calm}) == []
    resolved = await rig.run(15, **{"worker-1": calm, "worker-2": calm})
    assert _steps(resolved) == [("resolved", "worker-1", "NodeCPUHigh", "warning")]
    assert resolved[0].anomaly.resolved_at == rig.now
    rig.close()


async def test_memory_and_the_fullest_filesystems(tmp_path: Path) -> None:
    rules = """
[[rules]]
name = "memory"
channels = ["hook"]
metric = "memory"
above = 85
for = "2m"

[[rules]]
name = "disk"
channels = ["hook"]
metric = "disk"
above = 80
for = "1m"
mountpoints = ["/", "/var/lib/*"]
"""
    rig = Rig(tmp_path, rules)
    full = {
        "memory_used_percent": 91.5,
        _disk("/"): 83.0,
        _disk("/var/lib/kubelet", "/dev/sdb1"): 97.25,
        _disk("/boot", "/dev/sda2"): 99.0,  # not one the rule looks at
    }
    roomy = {"memory_used_percent": 40.0, _disk("/"): 30.0, _disk("/boot", "/dev/sda2"): 99.0}
    seen = await rig.run(180, **{"db-1": full, "web-1": roomy})
    assert _steps(seen) == [
        ("opened", "db-1", "NodeDiskHigh", "warning"),
        ("opened", "db-1", "NodeMemoryHigh", "warning"),
    ]
    disk, memory = (t.anomaly for t in seen)
    assert disk.members == ("/", "/var/lib/kubelet")
    assert disk.text("en") == (
        "filesystem /var/lib/kubelet on node db-1 is 97.2% full (above 80% for 1 min)"
    )
    assert memory.text("ja") == ("ノード db-1 のメモリ使用率が 91.5% です（85% 超が 2 分間継続）")
    # "/" has room again: the alert goes on for the other filesystem and says so.
    room = {**full, _disk("/"): 50.0}
    [changed] = await rig.run(15, **{"db-1": room, "web-1": roomy})
    assert changed.type is TransitionType.UPDATED
    assert changed.anomaly.members == ("/var/lib/kubelet",)
    assert changed.anomaly.first_seen == disk.first_seen
    rig.close()


async def test_a_warning_and_a_critical_rule_share_one_alert_per_node(tmp_path: Path) -> None:
    rules = """
[[rules]]
name = "cpu-warning"
channels = ["hook"]
metric = "cpu"
above = 80
for = "1m"

[[rules]]
name = "cpu-critical"
channels = ["hook"]
metric = "cpu"
above = 95
for = "1m"
severity = "critical"
"""
    rig = Rig(tmp_path, rules)
    assert _steps(await rig.run(90, n1={IDLE: 15.0})) == [
        ("opened", "n1", "NodeCPUHigh", "warning")
    ]
    # Worse: the warning ends and the critical one opens (each rule's group stays true).
    assert _steps(await rig.run(90, n1={IDLE: 1.0})) == [
        ("resolved", "n1", "NodeCPUHigh", "warning"),
        ("opened", "n1", "NodeCPUHigh", "critical"),
    ]
    assert _steps(await rig.run(15, n1={IDLE: 15.0})) == [
        ("resolved", "n1", "NodeCPUHigh", "critical"),
        ("opened", "n1", "NodeCPUHigh", "warning"),
    ]
    rig.close()


FORECAST_RULE = """
[[rules]]
name = "disk-filling"
channels = ["hook"]
metric = "disk"
full_within = "24h"
trend = "2h"
for = "1m"
"""


def _backfill(rig: Rig, node: str, series: dict[str, tuple[float, float]]) -> None:
    """Two hours of history at once, as an agent filling a gap sends it: each series
    from its start value, rising so many percent an hour."""
    times = np.arange(rig.now - 7200, rig.now, STEP)
    hours = (times - times[0]) / 3600
    values = np.array([start + hours * per_hour for start, per_hour in series.values()]).T
    rig.store.record_node_samples("prod", NodeSampleBlock(node, times, list(series), values))


async def test_a_filling_disk_is_foreseen_and_a_flat_one_is_not(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FORECAST_RULE)
    root, data = _disk("/"), _disk("/data", "/dev/sdb1")
    # "/data" fills at 5 % an hour from 60 %: full in about 8 h. "/" stays at 95 %.
    _backfill(rig, "db-1", {root: (95.0, 0.0), data: (60.0, 5.0)})
    _backfill(rig, "web-1", {root: (95.0, 0.0)})
    now_data = 60.0 + 5.0 * (7200 - STEP) / 3600
    assert await rig.run(45, **{"db-1": {root: 95.0, data: now_data}, "web-1": {root: 95.0}}) == []
    seen = await rig.run(30, **{"db-1": {root: 95.0, data: now_data}, "web-1": {root: 95.0}})
    assert _steps(seen) == [("opened", "db-1", "NodeDiskFillingUp", "critical")]
    alert = seen[0].anomaly
    assert alert.members == ("/data",)
    params = dict(alert.params)
    assert params["mountpoint"] == "/data" and params["value"] == "70"
    assert 5.5 <= float(params["hours"]) <= 6.5, params
    assert alert.text("en") == (
        f"filesystem /data on node db-1 is 70% full and, at the rate of the last 2 h, will "
        f"be full in about {params['hours']} h"
    )
    rig.close()


async def test_a_new_node_does_not_forecast_from_its_first_minutes(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FORECAST_RULE)
    root = _disk("/")
    for value in np.linspace(50.0, 60.0, 20):  # steep, but only five minutes of it
        assert await rig.run(15, n1={root: float(value)}) == []
    rig.close()


async def test_no_samples_nothing_and_stale_samples_end_an_alert(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CPU_RULE)
    assert await rig.run(600) == []  # no history at all
    busy = {IDLE: 2.0}
    # Ten busy minutes that ended six minutes ago (a node gone quiet): not judged.
    times = np.arange(rig.now - 960, rig.now - 360, STEP)
    block = NodeSampleBlock("old-1", times, [IDLE], np.full((len(times), 1), 2.0))
    rig.store.record_node_samples("prod", block)
    assert await rig.run(15) == []
    # A node that fires and then stops reporting: resolved once its samples are stale.
    assert _steps(await rig.run(315, n1=busy)) == [("opened", "n1", "NodeCPUHigh", "warning")]
    assert await rig.run(STALE_AFTER - STEP) == []
    assert _steps(await rig.run(30)) == [("resolved", "n1", "NodeCPUHigh", "warning")]
    rig.close()


async def test_rules_removed_from_the_settings_end_their_alerts(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CPU_RULE)
    assert len(await rig.run(315, n1={IDLE: 2.0})) == 1
    rig.dispatcher.reconfigure(_config(tmp_path, ""))
    assert _steps(await rig.run(15, n1={IDLE: 2.0})) == [
        ("resolved", "n1", "NodeCPUHigh", "warning")
    ]
    rig.close()


# --- end to end: the real dispatcher, delivery and a webhook receiver --------------------------

GROUPING = """[grouping]
group_wait = "200ms"
group_interval = "500ms"

"""


async def test_a_busy_node_reaches_the_webhook_and_so_does_its_end(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    webhook = HttpReceiver()
    await webhook.start(nursery)
    config = _config(tmp_path, CPU_RULE, f"{webhook.url}/in", GROUPING)
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    await nursery.start(store.run)
    alerting = Alerting(config, store, poll=0.3)
    alerting.node_metrics.interval = 0.2
    # Six busy minutes up to now, as the probe's scrapes arrive (one batch each).
    now = time.time()
    for at in np.arange(now - 360, now, STEP):
        store.record_node_samples("prod", [NodeSamples("worker-1", float(at), {IDLE: 3.0})])
    nursery.start_soon(alerting.run)
    await wait_until(lambda: webhook.received, 20, "the firing notification")
    [firing] = [json.loads(r.body) for r in webhook.received]
    assert firing["status"] == "firing" and firing["rule"] == "cpu"
    [alert] = firing["alerts"]
    assert (alert["kind"], alert["name"], alert["reason"], alert["severity"]) == (
        "Node", "worker-1", "NodeCPUHigh", "warning",
    )  # fmt: skip
    assert "node worker-1 is using 97% of its CPU (above 90% for 5.8 min)" in firing["text"]
    store.record_node_samples("prod", [NodeSamples("worker-1", time.time(), {IDLE: 70.0})])
    await wait_until(lambda: len(webhook.received) == 2, 20, "the resolve")
    resolved = json.loads(webhook.received[1].body)
    assert resolved["status"] == "resolved"
    assert [a["reason"] for a in resolved["resolved"]] == ["NodeCPUHigh"]


async def test_the_demo_fleet_can_trip_a_memory_rule(tmp_path: Path, nursery: trio.Nursery) -> None:
    # The demo's simulated memory stays between about 45 % and 65 %: above 40 % always.
    rules = """
[[rules]]
name = "demo-memory"
channels = ["hook"]
metric = "memory"
above = 40
for = "5m"
"""
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    hub = Hub(history=store)
    alerting = Alerting(_config(tmp_path, rules, extra=GROUPING), store)
    alerting.node_metrics.interval = 0.2
    alerting.attach(hub)
    handles = hub.watch_demo()
    await nursery.start(hub.run)

    def outbox() -> list[dict[str, object]]:
        store.flush()
        return [dict(a.payload) for a in store.alert_outbox(states=("pending", "failed"))]

    await wait_until(outbox, 60, "a node-memory notification from the demo fleet")
    alerts = [a for p in outbox() for a in p["alerts"]]  # type: ignore[attr-defined]
    assert {a["reason"] for a in alerts} == {"NodeMemoryHigh"}
    assert {a["cluster"] for a in alerts} <= {h.name for h in handles}
    assert all(a["severity"] == Severity.WARNING.label for a in alerts)
