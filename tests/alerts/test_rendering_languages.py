"""Every kind of alert, firing and resolved, as a Slack message and as an e-mail in each
language — sent through the real channel code to a loopback HTTP receiver and a real SMTP
server (aiosmtpd), and read back the way Slack and a mail client would read them."""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent import i18n
from headless_agent.alerts import channels
from headless_agent.alerts.config import Channel
from headless_agent.detect.anomaly import Severity, anomaly_text
from tests.alerts.receivers import HttpReceiver, SmtpServer, wait_until
from tests.unit.test_i18n import _catalog

ROOT = Path(__file__).resolve().parents[2]
#: where the detector and the alert engine say what is wrong
PRODUCERS = (
    "headless_agent/detect",
    "headless_agent/alerts",
)
#: ``{name}`` left unfilled, or the ``[name=value]`` that i18n._format adds when a
#: translation and its parameters do not fit together
UNFILLED = re.compile(r"\{[a-z_]+\}|\[[a-z_]+=")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]")
#: a believable value for each placeholder (anything else gets ``<name>-1``)
SAMPLES = {
    "pod": "checkout-7d9f8-x2x4q",
    "node": "worker-3",
    "container": "main",
    "cluster": "prod-eu",
    "name": "checkout",
    "kind": "Deployment",
    "image": "registry.example.com/shop/checkout:1.4.2",
    "detail": "Back-off 5m0s restarting failed container",
    "namespace": "shop",
    "mountpoint": "/var/lib/containerd",
    "value": "93",
    "threshold": "90",
    "minutes": "5",
    "hours": "9",
    "trend_hours": "6",
    "restarts": "7",
    "count": "3",
    "exit_code": "137",
    "reason": "OOMKilled",
    "storage_class": "fast-ssd",
}


def produced_ids() -> set[str]:
    """Every ``anomaly.*`` message id written in the detector's and the alerts' code."""
    found = set()
    for folder in PRODUCERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(r"anomaly\.[a-z0-9_]+", node.value)
                ):
                    found.add(node.value)
    found.discard("anomaly.group")  # the wrapper of a grouped alert, rendered with each kind
    return found


def alert_kinds() -> list[str]:
    """Every anomaly message of the catalog (each kind of alert has one)."""
    return sorted(
        m for m in _catalog("en") if m.startswith("anomaly.") and not m.startswith("anomaly.group")
    )


def _params(message_id: str) -> list[list[str]]:
    template = _catalog("en")[message_id][-1]
    return [
        [name, SAMPLES.get(name, f"<{name}>-1")] for name in sorted(i18n.placeholders(template))
    ]


def _alert(message_id: str, count: int, at: float, resolved: bool) -> dict[str, Any]:
    severities = [s.label for s in Severity]
    return {
        "cluster": "prod-eu",
        "kind": "Node" if "node" in message_id else "Pod",
        "namespace": "" if "node" in message_id else "shop",
        "name": "worker-3" if "node" in message_id else "checkout-7d9f8-x2x4q",
        "reason": message_id.removeprefix("anomaly."),
        "severity": severities[len(message_id) % len(severities)],
        "message_id": message_id,
        "params": _params(message_id),
        "count": count,
        "members": [],
        "first_seen": at - 600,
        "resolved_at": at if resolved else None,
    }


def notifications(message_id: str, at: float) -> Iterator[dict[str, Any]]:
    """A firing notification (one alert, one grouped, one resolved since) and a resolved one."""
    base = {"group": message_id, "rule": "on-call", "group_key": [], "at": at}
    yield {
        **base,
        "id": f"{message_id}-firing",
        "status": "firing",
        "alerts": [_alert(message_id, 1, at, False), _alert(message_id, 4, at, False)],
        "resolved": [_alert(message_id, 1, at, True)],
    }
    yield {
        **base,
        "id": f"{message_id}-resolved",
        "status": "resolved",
        "alerts": [],
        "resolved": [_alert(message_id, 1, at, True)],
    }


def _check_text(text: str, language: str, where: str) -> None:
    assert not UNFILLED.search(text), f"{where}: a placeholder left unfilled: {text!r}"
    if language == "en":
        assert not CJK.search(text), f"{where}: not English: {text!r}"
    else:
        assert CJK.search(text), f"{where}: not in {language}: {text!r}"


def _anomaly_texts(payload: dict[str, Any], language: str) -> list[str]:
    shown = payload["alerts"] if payload["status"] == "firing" else payload["resolved"]
    return [
        anomaly_text(a["message_id"], tuple(map(tuple, a["params"])), a["count"], language)
        for a in shown
    ]


def test_every_alert_kind_the_code_raises_is_rendered_here() -> None:
    assert produced_ids() <= set(alert_kinds()), sorted(produced_ids() - set(alert_kinds()))
    assert len(alert_kinds()) >= 25


@pytest.mark.parametrize("language", i18n.LANGUAGES)
async def test_slack_and_email_of_every_alert_kind(nursery: trio.Nursery, language: str) -> None:
    slack_receiver = HttpReceiver()
    await slack_receiver.start(nursery)
    at = 1_764_000_000.0
    with SmtpServer() as smtp:
        slack = Channel("slack", "slack", language, {}, {"url": f"{slack_receiver.url}/services/x"})
        mail = Channel(
            "mail",
            "smtp",
            language,
            {
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "plain",
                "sender": "atlhyper@example.com",
                "to": ["oncall@example.com"],
            },
        )
        sent = [p for kind in alert_kinds() for p in notifications(kind, at)]
        for payload in sent:
            await channels.send(slack, payload)
            await channels.send(mail, payload)
        await wait_until(lambda: len(smtp.mailbox.messages) == len(sent), 10, "every e-mail")

        assert len(slack_receiver.received) == len(sent)
        for payload, posted, letter in zip(
            sent, slack_receiver.received, smtp.mailbox.messages, strict=True
        ):
            where = f"{payload['id']} ({language})"
            subject, _ = channels.render(payload, language)
            firing = payload["status"] == "firing"
            count = len(payload["alerts"] if firing else payload["resolved"])
            expected_subject = i18n.message(
                language,
                "alert.firing" if firing else "alert.resolved",
                cluster="prod-eu",
                rule="on-call",
                count=count,
            )
            assert subject == expected_subject
            _check_text(subject, language, f"{where} subject")
            texts = _anomaly_texts(payload, language)
            for text in texts:
                assert not UNFILLED.search(text), f"{where}: {text!r}"

            # Slack: Block Kit — a header with the subject, a section with each alert.
            body = json.loads(posted.body)
            header, section, context = body["blocks"]
            assert body["text"] == subject
            assert header["type"] == "header" and header["text"]["text"] == subject[:150]
            lines = section["text"]["text"]
            for text in texts:
                assert text in lines, (where, text, lines)
            _check_text(lines, language, f"{where} Slack section")
            assert payload["id"] in context["elements"][0]["text"]
            if firing:  # the resolved one the firing message also reports
                also = i18n.message(language, "alert.also_resolved", count=1)
                assert also in lines

            # E-mail: the subject header, a plain part and an HTML part, both in the language.
            assert isinstance(letter, EmailMessage)
            assert letter["Subject"] == subject
            assert letter["Message-ID"] == f"<{payload['id']}@atlhyper>"
            plain = letter.get_body(("plain",))
            rich = letter.get_body(("html",))
            assert plain is not None and rich is not None
            plain_text, html_text = plain.get_content(), rich.get_content()
            for text in texts:
                assert text in plain_text, (where, text)
                assert _html_escaped(text) in html_text, (where, text)
            _check_text(plain_text, language, f"{where} e-mail text")
            _check_text(html_text, language, f"{where} e-mail HTML")
            assert f"<h3>{_html_escaped(subject)}</h3>" in html_text


def _html_escaped(text: str) -> str:
    return html.escape(text)
