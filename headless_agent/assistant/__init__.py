"""The optional assistant: questions about the clusters answered by a language model that
can read, never act.

- ``settings``: base URL, model and limits (``assistant.json``); the API key from the
  environment or the OS keyring;
- ``client``: the OpenAI-compatible chat-completions API over httpx, streamed;
- ``tools``: read-only tools over the Hub's state, its anomalies and the history store;
- ``redaction``: what the model may see (the audit log's redaction rule, and bounds);
- ``proposals``: changes the model may only suggest, and only when the user asked;
- ``conversation``: the tool-call loop, its limits, its record and its audit.

Nothing in this package imports Qt; the desktop's Assistant view drives ``Assistant``.
"""

from __future__ import annotations

from headless_agent.assistant.client import AssistantError, ChatClient
from headless_agent.assistant.conversation import (
    AUDIT_ACTIONS,
    Answer,
    Assistant,
    AssistantEvent,
    Conversation,
    Proposed,
    TextDelta,
    ToolUsed,
)
from headless_agent.assistant.proposals import Proposal
from headless_agent.assistant.settings import AssistantSettings, KeyringUnavailable

__all__ = [
    "AUDIT_ACTIONS",
    "Answer",
    "Assistant",
    "AssistantError",
    "AssistantEvent",
    "AssistantSettings",
    "ChatClient",
    "Conversation",
    "KeyringUnavailable",
    "Proposal",
    "Proposed",
    "TextDelta",
    "ToolUsed",
]
