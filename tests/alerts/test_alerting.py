"""Alerting with real receivers: the settings file, grouping and pacing, each channel's
wire format, and delivery that survives a receiver being away."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import (
    AlertConfig,
    Channel,
    ConfigProblems,
    Grouping,
    Rule,
    load_config,
)
from headless_agent.alerts.dispatcher import Dispatcher
from headless_agent.detect.anomaly import Anomaly, AnomalyKey, Severity, Transition, TransitionType
from headless_agent.hub import Hub
from headless_agent.store import HistoryStore, Silence
from tests.alerts.receivers import Alertmanager, HttpReceiver, SmtpServer, wait_until
from tests.unit import raw_objects as raw

T0 = 1_795_000_000.0
SECRET = "s3cret-signing-key"


def _anomaly(name: str = "checkout", *, reason: str = "CrashLoopBackOff", count: int = 1,
             namespace: str = "shop", resolved: float | None = None) -> Anomaly:  # fmt: skip
    return Anomaly(
        key=AnomalyKey("prod", "Deployment", namespace, name, reason),
        severity=Severity.CRITICAL,
        message_id="anomaly.crashloop",
        params=(("container", "main"), ("restarts", "7")),
        first_seen=T0,
        last_seen=T0,
        count=count,
        members=tuple(f"{name}-{i}" for i in range(count)),
        resolved_at=resolved,
    )


# --- the settings file -------------------------------------------------------------------------


def test_every_mistake_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(
        """[grouping]
group_wait = "soon"

[[channels]]
name = "mail"
type = "smtp"
host = "smtp.example.com"
password = "hunter2"
sender = "a@example.com"
to = ["b@example.com"]

[[channels]]
name = "pager"
type = "carrier-pigeon"

[[rules]]
name = "all"
channels = ["mail", "nowhere"]
severity = "apocalyptic"
"""
    )
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, environ={})
    problems = caught.value.problems
    assert problems == [
        "line 2: grouping.group_wait: 'soon' is not a duration such as 30s, 5m or 4h",
        "line 8: channels[0].password: never write the password here; use password_keyring, "
        "password_env or password_file",
        "line 14: channels[1].type: one of smtp, webhook, slack, alertmanager, desktop",
        "line 18: rules[0].channels: no channel named 'nowhere' (known: mail, pager)",
        "line 19: rules[0].severity: warning or critical",
    ]
    assert "hunter2" not in str(caught.value)


def test_every_mistake_in_node_metric_rules_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(
        """[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1"

[[rules]]
channels = ["hook"]
metric = "load"
above = 120

[[rules]]
channels = ["hook"]
metric = "cpu"
above = 90
for = "ever"
full_within = "24h"

[[rules]]
channels = ["hook"]
metric = "memory"
for = "2d"
reasons = ["OOMKilled"]

[[rules]]
channels = ["hook"]
above = 90
for = "5m"

[[rules]]
channels = ["hook"]
metric = "disk"
trend = "5m"
mountpoints = "/"
namespaces = ["kube-system"]

[[rules]]
channels = ["hook"]
metric = "disk"
full_within = "soon"
above = "90%"
"""
    )
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [
        "line 8: rules[0].metric: one of cpu, memory, disk",
        "line 9: rules[0].above: a percentage under 100, e.g. 90",
        "line 15: rules[1].for: 'ever' is not a duration such as 30s, 5m or 4h",
        'line 16: rules[1].full_within: only with metric = "disk"',
        "line 21: rules[2].for: 2d: at most 1d",
        "line 20: rules[2].metric: memory needs above",
        "line 22: rules[2].reasons: a node-metric rule matches its own alerts; leave reasons out",
        'line 26: rules[3].above: only with metric = "cpu", "memory" or "disk"',
        'line 27: rules[3].for: only with metric = "cpu", "memory" or "disk"',
        "line 32: rules[4].trend: 5m: from 10m to 7d",
        "line 32: rules[4].trend: only with full_within (the fit's window)",
        'line 33: rules[4].mountpoints: a list of mount points or patterns ("/var/*")',
        "line 31: rules[4].metric: disk needs above or full_within",
        "line 34: rules[4].namespaces: nodes have no namespace; leave namespaces out",
        "line 40: rules[5].above: a percentage under 100, e.g. 90",
        "line 39: rules[5].full_within: 'soon' is not a duration such as 30s, 5m or 4h",
    ]


def test_node_metric_rules_match_their_own_alerts(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(
        """[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1"

[[rules]]
name = "cpu"
channels = ["hook"]
metric = "cpu"
above = 90

[[rules]]
name = "disk-filling"
channels = ["hook"]
metric = "disk"
full_within = "1d"
mountpoints = ["/", "/var/lib/*"]
clusters = ["prod"]
"""
    )
    cpu, disk = load_config(path, environ={}).rules
    assert cpu.condition is not None and disk.condition is not None
    assert (cpu.reasons, cpu.severity, cpu.condition.hold) == (
        frozenset({"NodeCPUHigh"}), Severity.WARNING, 300.0,
    )  # fmt: skip
    assert (disk.reasons, disk.severity) == (frozenset({"NodeDiskFillingUp"}), Severity.CRITICAL)
    assert (disk.condition.full_within, disk.condition.trend) == (86400.0, 6 * 3600.0)
    assert disk.condition.mountpoints == ("/", "/var/lib/*") and disk.clusters == {"prod"}


def test_secrets_come_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    secret = tmp_path / "webhook.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o644)
    path = tmp_path / "alerts.toml"
    path.write_text(
        f"""[[channels]]
name = "hook"
type = "webhook"
url = "https://hooks.example.com/x"
secret_file = "{secret}"

[[channels]]
name = "slack"
type = "slack"
url_env = "SLACK_URL"
"""
    )
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, environ={})
    assert any("can be read by others; chmod 600 it" in p for p in caught.value.problems)
    assert any("the variable SLACK_URL is not set" in p for p in caught.value.problems)
    secret.chmod(0o600)
    config = load_config(path, environ={"SLACK_URL": "https://hooks.slack.com/services/T/B/X"})
    assert config.channels["hook"].secrets == {"secret": SECRET}
    assert SECRET not in repr(config)


def test_headless_check_says_ok_or_lists_the_mistakes(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = tmp_path / "good.toml"
    good.write_text('[[channels]]\nname = "am"\ntype = "alertmanager"\nurl = "http://127.0.0.1:1"\n'
                    '[[rules]]\nchannels = ["am"]\n')  # fmt: skip
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nchannels = "am"\n')
    main = "from headless_agent.cli import headless_main; raise SystemExit(headless_main())"
    command = [sys.executable, "-c", main]
    ok = subprocess.run(
        [*command, "--alerts", str(good), "--check"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "OK (1 rules, 1 channels)" in ok.stdout
    wrong = subprocess.run(
        [*command, "--alerts", str(bad), "--check"], capture_output=True, text=True
    )
    assert (
        wrong.returncode == 2
        and "line 2: rules[0].channels: a list of channel names" in wrong.stderr
    )


# --- grouping and pacing -----------------------------------------------------------------------


def _config(**grouping: Any) -> AlertConfig:
    channel = Channel("hook", "webhook", "en", {"url": "http://127.0.0.1:1"})
    rule = Rule("critical", ("hook",), Severity.CRITICAL)
    return AlertConfig({"hook": channel}, (rule,), Grouping(**grouping))


async def test_a_group_waits_speaks_once_repeats_and_resolves(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    store = HistoryStore.open(tmp_path / "h.sqlite3")
    clock = lambda: T0 + trio.current_time()  # noqa: E731
    dispatcher = Dispatcher(
        _config(group_wait=30, group_interval=300, repeat_interval=3600), store, clock=clock
    )

    def sent() -> list[tuple[str, str, int]]:
        store.flush()
        return [
            (a.dedup_key, a.payload["status"], len(a.payload["alerts"]))
            for a in sorted(store.alert_outbox(states=("pending",)), key=lambda a: a.created_at)
        ]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(dispatcher.run)
        # 20 pods of one Deployment: one anomaly growing, and a second owner.
        for count in range(1, 21):
            dispatcher.on_transition(
                "prod",
                Transition(
                    TransitionType.OPENED if count == 1 else TransitionType.UPDATED,
                    _anomaly(count=count),
                ),
            )
            await trio.sleep(0.5)
        await trio.sleep(30)
        [(first, status, alerts)] = sent()
        assert status == "firing" and alerts == 1
        # A blip in another group: resolved within group_wait, never announced.
        dispatcher.on_transition("prod", Transition(TransitionType.OPENED, _anomaly("cart")))
        await trio.sleep(5)
        dispatcher.on_transition(
            "prod", Transition(TransitionType.RESOLVED, _anomaly("cart", resolved=T0 + 5))
        )
        await trio.sleep(60)
        assert len(sent()) == 1
        # Still going after the repeat interval: said again.
        await trio.sleep(3600)
        assert [s[1] for s in sent()] == ["firing", "firing"]
        dispatcher.on_transition(
            "prod", Transition(TransitionType.RESOLVED, _anomaly(count=20, resolved=T0 + 4000))
        )
        await trio.sleep(301)
        statuses = [s[1] for s in sent()]
        assert statuses == ["firing", "firing", "resolved"]
        ids = [s[0] for s in sent()]
        assert len(set(ids)) == 3 and all(i.startswith(first.rsplit("-", 1)[0]) for i in ids)
        nursery.cancel_scope.cancel()
    store.close()


# --- each channel, on the wire, and delivery -----------------------------------------------------


async def test_webhook_slack_mail_and_alertmanager_receive_it(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    webhook, slack = HttpReceiver(), HttpReceiver()
    await webhook.start(nursery)
    await slack.start(nursery)
    manager = await trio.to_thread.run_sync(lambda: Alertmanager(tmp_path))
    with SmtpServer() as smtp:
        channels = {
            "hook": Channel(
                "hook", "webhook", "en", {"url": f"{webhook.url}/in"}, {"secret": SECRET}
            ),
            "slack": Channel("slack", "slack", "ja", {}, {"url": f"{slack.url}/services/x"}),
            "mail": Channel(
                "mail",
                "smtp",
                "zh",
                {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "plain",
                    "sender": "atlhyper@example.com",
                    "to": ["oncall@example.com"],
                },
            ),
            "am": Channel("am", "alertmanager", "en", {"url": manager.url}),
        }
        rule = Rule("critical", tuple(channels), Severity.CRITICAL)
        config = AlertConfig(channels, (rule,), Grouping(group_wait=0.5, group_interval=1))
        store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
        alerting = Alerting(config, store, poll=0.5)
        await nursery.start(store.run)
        nursery.start_soon(alerting.run)
        alerting.dispatcher.on_transition(
            "prod", Transition(TransitionType.OPENED, _anomaly(count=3))
        )
        await wait_until(
            lambda: webhook.received and slack.received and smtp.mailbox.messages,
            30,
            "every receiver",
        )
        await wait_until(manager.alerts, 10, "the alert in Alertmanager")

        [hook] = webhook.received
        digest = hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        assert hook.headers["x-atlhyper-signature"] == f"sha256={digest}"
        body = json.loads(hook.body)
        assert hook.headers["x-atlhyper-id"] == body["id"] and body["status"] == "firing"
        assert body["subject"] == "[prod] critical: 1 problem"
        assert "Deployment shop/checkout" in body["text"] and "3 pods" in body["text"]

        message = json.loads(slack.received[0].body)
        assert [b["type"] for b in message["blocks"]] == ["header", "section", "context"]
        assert message["blocks"][0]["text"]["text"] == "[prod] critical：問題 1 件"
        assert body["id"] in message["blocks"][2]["elements"][0]["text"]

        [mail] = smtp.mailbox.messages
        assert str(mail["Subject"]) == "[prod] critical：1 个问题"
        assert mail["Message-ID"] == f"<{body['id']}@atlhyper>"
        kinds = [part.get_content_type() for part in mail.walk()]
        assert "text/plain" in kinds and "text/html" in kinds

        [alert] = manager.alerts()
        assert alert["labels"]["alertname"] == "CrashLoopBackOff"
        assert alert["labels"]["name"] == "checkout" and alert["labels"]["cluster"] == "prod"
        assert alert["annotations"]["atlhyper_id"] == body["id"]

        # Received, then marked delivered: the mark follows the receipt by a moment.
        def delivered() -> int:
            store.flush()
            return len(store.alert_outbox(states=("delivered",)))

        await wait_until(lambda: delivered() == 4, 10, "all four marked delivered")
        assert store.alert_outbox(states=("pending",)) == []
    await trio.to_thread.run_sync(manager.stop)


async def test_a_receiver_away_for_a_while_gets_everything_once(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    webhook = HttpReceiver(status=503)
    await webhook.start(nursery)
    channel = Channel("hook", "webhook", "en", {"url": f"{webhook.url}/in"})
    config = AlertConfig(
        {"hook": channel}, (Rule("r", ("hook",)),), Grouping(group_wait=0.2, group_interval=0.5)
    )
    store = HistoryStore.open(tmp_path / "h.sqlite3", start=False)
    await nursery.start(store.run)
    alerting = Alerting(config, store, poll=0.3)
    nursery.start_soon(alerting.run)
    for name in ("a", "b", "c"):
        alerting.dispatcher.on_transition("prod", Transition(TransitionType.OPENED, _anomaly(name)))
    await wait_until(lambda: alerting.delivery.failures >= 1, 20, "a failed attempt")
    assert webhook.received == []
    await trio.to_thread.run_sync(store.flush)
    # The oldest waits for its retry; the two behind it wait their turn, untried.
    pending = store.alert_outbox(states=("pending",), in_order=True)
    assert [(a.attempts, a.last_error[:8]) for a in pending] == [(1, "HTTP 503"), (0, ""), (0, "")]
    webhook.status = 200  # back: the retries go out (first retry after 5 s)
    await wait_until(lambda: len(webhook.received) >= 3, 60, "the retries")
    await trio.sleep(2)
    ids = [json.loads(r.body)["id"] for r in webhook.received]
    assert len(ids) == len(set(ids)) == 3


# --- silences and inhibition -----------------------------------------------------------------


async def test_a_silence_holds_notifications_until_it_expires(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    store = HistoryStore.open(tmp_path / "h.sqlite3")
    clock = lambda: T0 + trio.current_time()  # noqa: E731
    alerting = Alerting(_config(group_wait=5), store, clock=clock)
    store.add_silence(Silence(T0, T0 + 600, namespace="shop", reason="CrashLoopBackOff"))
    store.flush()

    def sent() -> list[str]:
        store.flush()
        return [a.payload["status"] for a in store.alert_outbox(states=("pending",))]

    await alerting.refresh_silences()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(alerting.dispatcher.run)
        await trio.sleep(1)
        alerting.dispatcher.on_transition("prod", Transition(TransitionType.OPENED, _anomaly()))
        other = _anomaly("db", namespace="data")
        alerting.dispatcher.on_transition("prod", Transition(TransitionType.OPENED, other))
        await trio.sleep(60)
        store.flush()
        [only] = store.alert_outbox(states=("pending",))
        assert only.payload["alerts"][0]["name"] == "db"  # the silence matched shop only
        await trio.sleep(600)  # the silence expires: the held group speaks
        assert sent() == ["firing", "firing"]
        nursery.cancel_scope.cancel()
    store.close()


async def test_pods_on_a_node_that_is_down_wait_for_the_node(tmp_path: Path) -> None:
    hub = Hub()
    handle = hub.add_cluster("prod", "test", _never)
    node = raw.node("worker-3", ready="False")
    handle.state.apply("Node", "ADDED", node)
    for name in ("checkout-1", "checkout-2"):
        handle.state.apply("Pod", "ADDED", raw.pod(name, node="worker-3"))
    handle.detector.process([])  # nothing yet: the node's grace period
    alerting = Alerting(_config(), HistoryStore.open(tmp_path / "h.sqlite3"))
    alerting.attach(hub)
    crash = _anomaly(count=2)
    crash = replace(crash, members=("checkout-1", "checkout-2"))
    assert not alerting.suppressed(crash, T0)
    down = Anomaly(
        key=AnomalyKey("prod", "Node", "", "worker-3", "NodeNotReady"),
        severity=Severity.CRITICAL, message_id="anomaly.node_not_ready",
        params=(("node", "worker-3"), ("detail", "kubelet stopped")),
        first_seen=T0, last_seen=T0, count=1, members=("worker-3",),
    )  # fmt: skip
    handle.detector._open[down.key] = down  # the node's anomaly is open
    assert alerting.suppressed(crash, T0)
    elsewhere = replace(crash, members=("checkout-1", "gone-pod"))
    assert not alerting.suppressed(elsewhere, T0)
    assert not alerting.suppressed(down, T0)  # the node's own alert goes out


async def _never(state: object, health: object) -> None:
    await trio.sleep_forever()


def test_silences_from_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    main = "from headless_agent.cli import headless_main; raise SystemExit(headless_main())"
    env = {**os.environ, "ATLHYPER_DB": str(tmp_path / "h.sqlite3")}
    command = [sys.executable, "-c", main]
    silence = ["--silence", "cluster=prod,reason=OOMKilled", "--for", "2h", "--comment", "upgrade"]
    added = subprocess.run([*command, *silence], capture_output=True, text=True, env=env)
    assert added.returncode == 0, added.stderr
    assert "cluster=prod, reason=OOMKilled until" in added.stdout and "upgrade" in added.stdout
    listed = subprocess.run([*command, "--silences"], capture_output=True, text=True, env=env)
    assert listed.stdout.count("#1 ") == 1
    endless = subprocess.run(
        [*command, "--silence", "cluster=prod"], capture_output=True, text=True, env=env
    )
    assert endless.returncode == 2 and "--silence needs --for" in endless.stderr
    wrong = subprocess.run(
        [*command, "--silence", "pod=x", "--for", "1h"], capture_output=True, text=True, env=env
    )
    assert wrong.returncode == 2 and "use cluster, namespace, name, reason" in wrong.stderr


async def test_a_cluster_offline_for_a_while_is_an_alert_and_its_return_a_resolve(
    tmp_path: Path,
) -> None:
    # Real time, in small steps: waiting for the store's threads, a mock clock would jump.
    from headless_agent.kube.errors import Unreachable
    from headless_agent.kube.health import ClusterHealth, ConnectionState

    back = trio.Event()

    async def flaky(state: object, health: ClusterHealth) -> None:
        await trio.sleep(0.1)
        health.setup_failed(Unreachable("dial tcp 10.0.0.1:6443: connect: no route to host"))
        await back.wait()
        health.relayed(ConnectionState.SYNCED, None, None, ())
        await trio.sleep_forever()

    store = HistoryStore.open(tmp_path / "h.sqlite3")
    channel = Channel("hook", "webhook", "en", {"url": "http://127.0.0.1:1"})
    config = AlertConfig(
        {"hook": channel},
        (Rule("reach", ("hook",), Severity.CRITICAL, frozenset({"ClusterUnreachable"})),),
        Grouping(group_wait=0.2, group_interval=0.5),
        unreachable_after=2.0,
    )
    hub = Hub()
    alerting = Alerting(config, store)
    alerting.attach(hub)
    hub.add_cluster("edge", "test", flaky)  # type: ignore[arg-type]

    def outbox() -> list[dict[str, Any]]:
        store.flush()
        written = store.alert_outbox(states=("pending", "failed"), in_order=True)
        return [dict(a.payload) for a in written]

    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        await trio.sleep(1.0)
        assert outbox() == []  # offline for a second: not yet an incident
        await wait_until(lambda: outbox(), 10, "the unreachable alert")
        [firing] = outbox()
        assert firing["status"] == "firing"
        [alert] = firing["alerts"]
        assert (alert["kind"], alert["name"], alert["reason"]) == (
            "Cluster", "edge", "ClusterUnreachable",
        )  # fmt: skip
        assert ["detail", "dial tcp 10.0.0.1:6443: connect: no route to host"] in alert["params"]
        back.set()
        await wait_until(lambda: len(outbox()) == 2, 10, "the resolve")
        assert [p["status"] for p in outbox()] == ["firing", "resolved"]
        nursery.cancel_scope.cancel()
    store.close()
