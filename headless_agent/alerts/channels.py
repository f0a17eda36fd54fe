"""Sending one notification on one channel: e-mail, webhook, Slack, Alertmanager.

Each sender renders the notification in the channel's language (the catalogs), and either
returns (delivered) or raises ``DeliveryFailed`` saying whether trying again can help.
Every message carries the notification's stable id (``Message-ID``, ``X-AtlHyper-Id``,
an Alertmanager annotation) so receivers can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import smtplib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import trio

from headless_agent import i18n
from headless_agent.alerts.config import Channel
from headless_agent.detect.anomaly import anomaly_text

TIMEOUT = 15.0


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


# --- rendering ---------------------------------------------------------------------------------


def _line(alert: Mapping[str, Any], language: str) -> str:
    params = tuple((str(k), str(v)) for k, v in alert.get("params", []))
    where = f"{alert['namespace']}/{alert['name']}" if alert["namespace"] else alert["name"]
    return i18n.message(
        language,
        "alert.line",
        severity=i18n.message(language, f"severity.{alert['severity']}"),
        target=f"{alert['kind']} {where}",
        text=anomaly_text(str(alert["message_id"]), params, int(alert["count"]), language),
        since=i18n.format_time(float(alert["first_seen"]), language),
    )


def render(payload: Mapping[str, Any], language: str) -> tuple[str, list[str]]:
    """(subject, lines) in ``language``."""
    firing = payload["status"] == "firing"
    alerts = payload["alerts"] if firing else payload["resolved"]
    cluster = alerts[0]["cluster"] if alerts else ""
    subject = i18n.message(
        language,
        "alert.firing" if firing else "alert.resolved",
        rule=payload["rule"],
        cluster=cluster,
        count=len(alerts),
    )
    lines = [_line(a, language) for a in alerts]
    if firing and payload.get("resolved"):
        lines.append(i18n.message(language, "alert.also_resolved", count=len(payload["resolved"])))
    return subject, lines


def test_payload(at: float) -> dict[str, Any]:
    """A notification that says it is a test, shaped like every other (a "send test" of a
    channel exercises the same rendering and wire format)."""
    return {
        "id": f"test-{int(at * 1000)}",
        "group": "test",
        "status": "firing",
        "rule": "test",
        "group_key": [],
        "at": at,
        "alerts": [
            {
                "cluster": "atlhyper",
                "kind": "Test",
                "namespace": "",
                "name": "notification",
                "reason": "TestNotification",
                "severity": "warning",
                "message_id": "anomaly.test_notification",
                "params": [],
                "count": 1,
                "members": [],
                "first_seen": at,
                "resolved_at": None,
            }
        ],
        "resolved": [],
    }


# --- senders -----------------------------------------------------------------------------------


async def send(channel: Channel, payload: Mapping[str, Any]) -> None:
    sender = {
        "webhook": _webhook,
        "slack": _slack,
        "alertmanager": _alertmanager,
        "smtp": _smtp,
    }[channel.type]
    await sender(channel, payload)


async def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}", retry=True) from None
    if response.status_code >= 300:
        # A receiver that says the request itself is wrong will say so again.
        retry = response.status_code >= 500 or response.status_code in (408, 425, 429)
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", retry=retry)


async def _webhook(channel: Channel, payload: Mapping[str, Any]) -> None:
    subject, lines = render(payload, channel.language)
    body = json.dumps(
        {**payload, "language": channel.language, "subject": subject, "text": "\n".join(lines)},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()
    headers = {"X-AtlHyper-Id": str(payload["id"])}
    secret = channel.secrets.get("secret")
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-AtlHyper-Signature"] = f"sha256={digest}"
    await _post(str(channel.settings["url"]), body, headers)


async def _slack(channel: Channel, payload: Mapping[str, Any]) -> None:
    subject, lines = render(payload, channel.language)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "\n".join(f"• {line}" for line in lines)[:3000]},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"AtlHyper · {payload['rule']} · {payload['id']}"}
            ],
        },
    ]
    body = json.dumps({"text": subject, "blocks": blocks}, ensure_ascii=False).encode()
    await _post(channel.secrets["url"], body, {})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _alertmanager(channel: Channel, payload: Mapping[str, Any]) -> None:
    firing = payload["status"] == "firing"
    alerts = payload["alerts"] if firing else payload["resolved"]
    now = float(payload["at"])
    documents = []
    for alert in alerts:
        params = tuple((str(k), str(v)) for k, v in alert.get("params", []))
        document = {
            "labels": {
                "alertname": alert["reason"],
                "cluster": alert["cluster"],
                "namespace": alert["namespace"],
                "kind": alert["kind"],
                "name": alert["name"],
                "severity": alert["severity"],
                "atlhyper_rule": str(payload["rule"]),
            },
            "annotations": {
                "summary": anomaly_text(
                    str(alert["message_id"]), params, int(alert["count"]), channel.language
                ),
                "atlhyper_id": str(payload["id"]),
            },
            "startsAt": _iso(float(alert["first_seen"])),
        }
        if not firing:
            document["endsAt"] = _iso(float(alert.get("resolved_at") or now))
        documents.append(document)
    url = str(channel.settings["url"]).rstrip("/") + "/api/v2/alerts"
    await _post(url, json.dumps(documents).encode(), {})


async def _smtp(channel: Channel, payload: Mapping[str, Any]) -> None:
    subject, lines = render(payload, channel.language)
    message = EmailMessage()
    settings = channel.settings
    message["Subject"] = subject
    message["From"] = str(settings["sender"])
    message["To"] = ", ".join(str(t) for t in settings["to"])
    message["Message-ID"] = f"<{payload['id']}@atlhyper>"
    message.set_content("\n".join(lines) + f"\n\n-- AtlHyper ({payload['id']})\n")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    message.add_alternative(
        f"<html><body><h3>{html.escape(subject)}</h3><ul>{items}</ul>"
        f"<p style='color:#7a8794'>AtlHyper · {html.escape(str(payload['id']))}</p></body></html>",
        subtype="html",
    )

    def deliver() -> None:
        host, port = str(settings["host"]), int(settings.get("port", 587))
        security = settings.get("security", "starttls")
        context = ssl.create_default_context()
        if settings.get("ca_file"):
            context.load_verify_locations(str(settings["ca_file"]))
        server: smtplib.SMTP
        if security == "tls":
            server = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with server:
            if security == "starttls":
                server.starttls(context=context)
            if settings.get("username"):
                server.login(str(settings["username"]), channel.secrets.get("password", ""))
            server.send_message(message)

    try:
        await trio.to_thread.run_sync(deliver)
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryFailed(
            f"the mail server refused the login: {error.smtp_code}", retry=False
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryFailed(
            f"recipients refused: {sorted(error.recipients)}", retry=False
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}", retry=True) from None
