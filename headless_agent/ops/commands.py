"""Commands and their outcomes: plain data that crosses the hub–agent wire unchanged.

What an outcome or a refusal says is a catalog message (an id and its parameters) that
each head renders in its reader's language; the English rendering travels beside it as
``message`` for logs, the audit log and API clients that know no catalog.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headless_agent import i18n

_OBJECTS = frozenset(
    {
        "Pod",
        "Node",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "Service",
        "Namespace",
        "PersistentVolumeClaim",
        "Ingress",
    }
)
_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})

#: every operation, the kinds it applies to, and whether it changes the cluster
ACTIONS: dict[str, tuple[frozenset[str], bool]] = {
    "scale": (frozenset({"Deployment", "StatefulSet", "ReplicaSet"}), True),
    "rollout-restart": (_WORKLOADS, True),
    "rollback": (frozenset({"Deployment"}), True),
    "set-image": (_WORKLOADS, True),
    "cordon": (frozenset({"Node"}), True),
    "uncordon": (frozenset({"Node"}), True),
    "drain": (frozenset({"Node"}), True),
    "delete-pod": (frozenset({"Pod"}), True),
    "restart-pod": (frozenset({"Pod"}), True),
    "logs": (frozenset({"Pod"}), False),
    # A command may change the container, so it is confirmed and audited like a change.
    "exec": (frozenset({"Pod"}), True),
    "describe": (_OBJECTS, False),
    "yaml": (_OBJECTS, False),
    # Edited YAML: a server-side dry run with the diff first, then the real apply.
    "apply-dry-run": (_OBJECTS, False),
    "apply": (_OBJECTS, True),
}


class CommandError(ValueError):
    """A command that cannot be run as asked (unknown action, wrong kind, bad parameter).

    Raised with a catalog message id and its parameters; ``str()`` is the English text.
    """

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(i18n.english(message_id, **params))
        self.message_id = message_id
        self.params = params

    def said(self) -> i18n.Message:
        return (self.message_id, self.params)


@dataclass(frozen=True)
class Command:
    action: str
    kind: str
    namespace: str
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: the idempotency key: the same key never runs twice
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the user confirmed acting in a protected namespace (kube-system and friends)
    confirm_protected: bool = False

    @property
    def mutating(self) -> bool:
        return ACTIONS[self.action][1]

    def check(self) -> None:
        if self.action not in ACTIONS:
            known = ", ".join(sorted(ACTIONS))
            raise CommandError("operation.error.unknown_action", action=self.action, known=known)
        kinds, _ = ACTIONS[self.action]
        if self.kind not in kinds:
            raise CommandError(
                "operation.error.wrong_kind",
                action=self.action,
                kinds=", ".join(sorted(kinds)),
                kind=self.kind,
            )
        if not self.name:
            raise CommandError("operation.error.no_name", action=self.action, kind=self.kind)

    def describe_target(self) -> str:
        """``Deployment shop/web``: the kind and name, as kubectl spells them (not translated)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "params": dict(self.params),
            "key": self.key,
            "confirm_protected": self.confirm_protected,
        }

    @classmethod
    def from_json(cls, data: Any) -> Command:
        """From a request body; raises CommandError naming what is wrong."""
        if not isinstance(data, dict):
            raise CommandError("operation.error.not_an_object")
        text = {}
        for name in ("action", "kind", "name", "key"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise CommandError("operation.error.not_text", field=name)
            text[name] = value
        namespace = data.get("namespace", "")
        if not isinstance(namespace, str):
            raise CommandError("operation.error.namespace_not_text")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise CommandError("operation.error.params_not_object")
        confirm = data.get("confirm_protected", False)
        if not isinstance(confirm, bool):
            raise CommandError("operation.error.confirm_not_boolean")
        if len(text["key"]) > 128:
            raise CommandError("operation.error.key_too_long", limit=128)
        command = cls(
            text["action"], text["kind"], namespace, text["name"], params, text["key"], confirm
        )
        command.check()
        return command


@dataclass(frozen=True)
class Outcome:
    """How a command ended.

    ``message_id`` and ``params`` say it for the user in any language (``text``);
    ``message`` is its English rendering (logs, audit, API clients without catalogs).
    """

    key: str
    ok: bool
    message: str
    #: ok, refused (by AtlHyper's safety rules), failed (the cluster said no or broke)
    status: str = "ok"
    #: an error category when it failed (forbidden, not-found, conflict, ...)
    category: str = ""
    #: what an operation returns besides words: logs text, YAML, a drain report
    data: Mapping[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    identity: str = ""
    #: the catalog message the outcome says ("" from an agent that sent only English)
    message_id: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def saying(
        cls,
        key: str,
        ok: bool,
        said: i18n.Message,
        status: str = "ok",
        category: str = "",
        **rest: Any,
    ) -> Outcome:
        """An outcome that says ``said``, with its English rendering as ``message``."""
        message_id, params = said
        return cls(
            key,
            ok,
            i18n.english(message_id, **params),
            status,
            category,
            message_id=message_id,
            params=dict(params),
            **rest,
        )

    @property
    def said(self) -> i18n.Message | None:
        return (self.message_id, self.params) if self.message_id else None

    def text(self, language: str) -> str:
        """What the outcome says, in ``language`` (the English ``message`` if it has no id)."""
        if not self.message_id or not i18n.knows(self.message_id):
            return self.message
        return i18n.message(language, self.message_id, **self.params)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "ok": self.ok,
            "message": self.message,
            "message_id": self.message_id,
            "params": dict(self.params),
            "status": self.status,
            "category": self.category,
            "data": dict(self.data),
            "duration": self.duration,
            "identity": self.identity,
        }

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        if not isinstance(data, dict):
            raise CommandError("operation.error.outcome_not_an_object")
        message_id = data.get("message_id") or ""
        params = data.get("params") or {}
        if not isinstance(message_id, str) or not isinstance(params, dict):
            message_id, params = "", {}  # say it in English, as an older agent does
        try:
            return cls(
                key=str(data["key"]),
                ok=bool(data["ok"]),
                message=str(data["message"]),
                status=str(data.get("status", "ok")),
                category=str(data.get("category", "")),
                data=dict(data.get("data") or {}),
                duration=float(data.get("duration") or 0.0),
                identity=str(data.get("identity", "")),
                message_id=message_id,
                params=params,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CommandError("operation.error.outcome_unreadable", detail=str(error)) from None
