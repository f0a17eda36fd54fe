"""Table models of the Alerts tab: rules, channels, silences and the delivery history.

Rules and channels come from the settings in use; silences and deliveries from the
history file (filled whole from a query, like the History tab's tables).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtGui import QColor

from desktop.history_models import _QueryTableModel
from headless_agent import i18n
from headless_agent.alerts.channels import render
from headless_agent.alerts.config import Channel, Rule
from headless_agent.store import OutboxAlert, Silence

_STATE_COLOURS = {
    "delivered": QColor("#2e9e5b"),
    "failed": QColor("#d64545"),
    "pending": QColor("#d98b1c"),
}
_MUTED = QColor("#7a8794")


class RuleTableModel(_QueryTableModel[Rule]):
    columns = ("rule", "severity_at_least", "reasons", "clusters", "namespaces", "channels")

    def cells(self, row: Rule) -> Sequence[tuple[str, Any]]:
        tr = self._language.tr
        anything = tr("alerts.any")

        def listed(values: frozenset[str]) -> str:
            return ", ".join(sorted(values)) or anything

        return (
            (row.name, row.name),
            (tr(f"severity.{row.severity.label}"), int(row.severity)),
            (listed(row.reasons), listed(row.reasons)),
            (listed(row.clusters), listed(row.clusters)),
            (listed(row.namespaces), listed(row.namespaces)),
            (", ".join(row.channels), ", ".join(row.channels)),
        )

    def tooltip(self, row: Rule) -> str:
        return self._language.tr("alerts.rule_resolved" if row.resolved else "alerts.rule_quiet")


def channel_target(channel: Channel, language: str) -> str:
    """Where a channel sends, without its secrets (a Slack URL is one: not shown)."""
    settings = channel.settings
    if channel.type == "smtp":
        recipients = ", ".join(str(t) for t in settings.get("to", ()))
        server = f"{settings.get('host')}:{settings.get('port', 587)}"
        return i18n.message(language, "alerts.smtp_target", recipients=recipients, server=server)
    if channel.type in ("webhook", "alertmanager"):
        return str(settings.get("url", ""))
    return ""


class ChannelTableModel(_QueryTableModel[Channel]):
    columns = ("channel", "type", "language", "target")

    def cells(self, row: Channel) -> Sequence[tuple[str, Any]]:
        target = channel_target(row, self._language.code) or self._language.tr(
            f"alerts.target.{row.type}"
        )
        language = i18n.message(self._language.code, f"language.{row.language}")
        return (
            (row.name, row.name),
            (self._language.tr(f"alerts.type.{row.type}"), row.type),
            (language, row.language),
            (target, target),
        )


class SilenceTableModel(_QueryTableModel[Silence]):
    columns = ("matches", "comment", "created_by", "created", "expires", "status")

    def cells(self, row: Silence) -> Sequence[tuple[str, Any]]:
        tr = self._language.tr
        code = self._language.code
        matchers = ", ".join(
            f"{name}={value}"
            for name, value in (
                ("cluster", row.cluster),
                ("namespace", row.namespace),
                ("name", row.name),
                ("reason", row.reason),
            )
            if value
        ) or tr("alerts.any")
        now = time.time()
        if row.expires_at <= now:
            status = tr("silence.expired")
        elif row.created_at > now:
            status = tr("silence.pending")
        else:
            status = tr("silence.active_for", left=self._language.duration(row.expires_at - now))
        return (
            (matchers, matchers),
            (row.comment, row.comment),
            (row.created_by, row.created_by),
            (i18n.format_time(row.created_at, code), row.created_at),
            (i18n.format_time(row.expires_at, code), row.expires_at),
            (status, row.expires_at - now),
        )

    def colour(self, row: Silence, column: int) -> QColor | None:
        return _MUTED if row.expires_at <= time.time() else None

    def is_active(self, number: int) -> bool:
        return self.row(number).expires_at > time.time()


class DeliveryTableModel(_QueryTableModel[OutboxAlert]):
    columns = ("created", "channel", "status", "subject", "attempts", "delivered", "last_error")

    def cells(self, row: OutboxAlert) -> Sequence[tuple[str, Any]]:
        tr = self._language.tr
        code = self._language.code
        subject = subject_of(row.payload, code)
        delivered = i18n.format_time(row.delivered_at, code) if row.delivered_at else ""
        return (
            (i18n.format_time(row.created_at, code), row.created_at),
            (row.channel, row.channel),
            (tr(f"delivery.{row.state}"), row.state),
            (subject, subject),
            (i18n.format_number(row.attempts, code), row.attempts),
            (delivered, row.delivered_at or 0.0),
            (row.last_error, row.last_error),
        )

    def colour(self, row: OutboxAlert, column: int) -> QColor | None:
        return _STATE_COLOURS.get(row.state) if column == 2 else None

    def tooltip(self, row: OutboxAlert) -> str:
        _, lines = render(row.payload, self._language.code)
        return "\n".join([*lines, str(row.payload.get("id", ""))])


def subject_of(payload: Mapping[str, Any], language: str) -> str:
    subject, _ = render(payload, language)
    return subject
