"""The assistant's conversations: what the user asked, what the model answered, what its
tools returned (redacted before it was sent, so nothing secret is stored either), and the
tokens each answer cost — the daily token budget is their sum since midnight."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    key: str
    started_at: float
    cluster: str
    language: str
    title: str


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    """One chat message as the API knows it (``role``: system, user, assistant, tool)."""

    conversation: str
    at: float
    role: str
    content: str = ""
    #: the assistant's tool calls, as the API sent them (id, name, arguments)
    tool_calls: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    #: for a tool result: the call it answers
    tool_call_id: str = ""
    #: tokens the API counted for the request that produced this message (0: none)
    tokens: int = 0


def start(db: sqlite3.Connection, info: ConversationInfo) -> None:
    db.execute(
        "INSERT OR IGNORE INTO assistant_conversations (key, started_at, cluster, language, "
        "title) VALUES (?, ?, ?, ?, ?)",
        (info.key, info.started_at, info.cluster, info.language, info.title),
    )


def append(db: sqlite3.Connection, message: ConversationMessage) -> None:
    db.execute(
        "INSERT INTO assistant_messages (conversation, at, role, content, tool_calls, "
        "tool_call_id, tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            message.conversation,
            message.at,
            message.role,
            message.content,
            json.dumps([dict(c) for c in message.tool_calls]) if message.tool_calls else "",
            message.tool_call_id,
            message.tokens,
        ),
    )


def conversations(db: sqlite3.Connection, limit: int) -> list[ConversationInfo]:
    """The latest conversations, newest first."""
    rows = db.execute(
        "SELECT key, started_at, cluster, language, title FROM assistant_conversations "
        "ORDER BY started_at DESC LIMIT ?",
        (limit,),
    )
    return [
        ConversationInfo(str(k), float(t), c or "", lang or "", ti or "")
        for k, t, c, lang, ti in rows
    ]


def messages(db: sqlite3.Connection, conversation: str) -> list[ConversationMessage]:
    rows = db.execute(
        "SELECT at, role, content, tool_calls, tool_call_id, tokens FROM assistant_messages "
        "WHERE conversation = ? ORDER BY id",
        (conversation,),
    )
    return [
        ConversationMessage(
            conversation,
            float(at),
            str(role),
            content or "",
            tuple(json.loads(calls)) if calls else (),
            call_id or "",
            int(tokens or 0),
        )
        for at, role, content, calls, call_id, tokens in rows
    ]


def tokens_since(db: sqlite3.Connection, since: float) -> int:
    row = db.execute(
        "SELECT COALESCE(SUM(tokens), 0) FROM assistant_messages WHERE at >= ?", (since,)
    ).fetchone()
    return int(row[0])
