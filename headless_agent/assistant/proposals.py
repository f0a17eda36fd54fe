"""Proposals: a change the model suggests, which only the user can make.

The model has no path to execute anything: ``propose_operation`` builds a ``Command`` and
hands it to the head, which opens the normal operation dialog (preview, confirmation,
protected namespaces, read-only mode, audit) — or nothing at all. On top of that the
engine refuses a proposal the user did not ask for, so that text the model read (a log
line, an event message, an object's name) cannot put a change in front of the user:

1. the action is one of the changes the operation dialog offers (``PROPOSABLE``; never
   ``exec`` or a raw ``apply``), and the command passes the usual checks;
2. the target exists in the cluster's live state;
3. the user asked for it: the user's own messages in this conversation name the target
   (its name) and use a word for that action, in English, Chinese or Japanese
   (``ACTION_WORDS``).

A refused proposal is answered to the model with the reason, recorded in the audit log as
refused, and never shown. See docs/ASSISTANT.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headless_agent.hub import ClusterHandle
from headless_agent.ops.commands import Command, CommandError

PROPOSABLE = frozenset(
    {
        "scale",
        "rollout-restart",
        "rollback",
        "set-image",
        "cordon",
        "uncordon",
        "drain",
        "delete-pod",
        "restart-pod",
    }
)

_RESTART = ("restart", "重启", "重新启动", "再起動")
#: words that ask for each action (lower case; ASCII ones match as whole words)
ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "scale": (
        "scale",
        "replicas",
        "replica",
        "扩容",
        "缩容",
        "扩缩",
        "副本",
        "スケール",
        "レプリカ",
    ),
    "rollout-restart": _RESTART,
    "restart-pod": _RESTART,
    "rollback": ("rollback", "roll back", "revert", "undo", "回滚", "回退", "ロールバック", "戻"),
    "set-image": ("image", "镜像", "イメージ"),
    "cordon": ("cordon", "封锁", "コードン"),
    "uncordon": ("uncordon", "解除封锁", "取消封锁", "アンコードン"),
    "drain": ("drain", "排空", "ドレイン"),
    "delete-pod": ("delete", "remove", "kill", "删除", "删掉", "削除"),
}


@dataclass(frozen=True)
class Proposal:
    """A change for the user to review; ``command`` has a fresh idempotency key."""

    cluster: str
    command: Command
    reason: str


class ProposalRefused(Exception):
    """The proposal is not grounded in what the user asked; the message says why."""


def _says(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None
    return word in text


def asked_for(action: str, name: str, user_texts: Sequence[str]) -> bool:
    """Whether the user's words name ``name`` and ask for ``action``."""
    texts = [t.lower() for t in user_texts]
    named = any(name.lower() in t for t in texts)
    words = ACTION_WORDS.get(action, ())
    return named and any(_says(t, w) for t in texts for w in words)


def proposal_from(
    arguments: Mapping[str, Any], handle: ClusterHandle, user_texts: Sequence[str]
) -> Proposal:
    """The proposal the model asked for, if the rules allow it; raises ProposalRefused."""
    action = str(arguments.get("action") or "")
    kind = str(arguments.get("kind") or "")
    namespace = str(arguments.get("namespace") or "")
    name = str(arguments.get("name") or "")
    params = arguments.get("params") or {}
    if action not in PROPOSABLE:
        raise ProposalRefused(
            f"{action!r} cannot be proposed; proposable: {', '.join(sorted(PROPOSABLE))}"
        )
    if not isinstance(params, dict):
        raise ProposalRefused("params must be an object")
    command = Command(action, kind, namespace, name, dict(params))
    try:
        command.check()
    except CommandError as error:
        raise ProposalRefused(str(error)) from None
    if handle.state.get(kind, namespace, name) is None:
        where = f"{namespace}/{name}" if namespace else name
        raise ProposalRefused(f"there is no {kind} {where} in {handle.name}")
    if not asked_for(action, name, user_texts):
        raise ProposalRefused(
            "the user did not ask for this change; only propose a change the user asked for "
            "(the user's own words must name the object and the action)"
        )
    return Proposal(handle.name, command, str(arguments.get("reason") or "")[:500])
