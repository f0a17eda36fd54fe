"""Commands and their outcomes: plain data that crosses the hub–agent wire unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
    """A command that cannot be run as asked (unknown action, wrong kind, bad parameter)."""


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
            raise CommandError(f"unknown action {self.action!r} (known: {known})")
        kinds, _ = ACTIONS[self.action]
        if self.kind not in kinds:
            raise CommandError(
                f"{self.action} applies to {', '.join(sorted(kinds))}, not {self.kind}"
            )
        if not self.name:
            raise CommandError(f"{self.action}: which {self.kind}? (no name given)")

    def describe_target(self) -> str:
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
            raise CommandError("a command is a JSON object")
        text = {}
        for name in ("action", "kind", "name", "key"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise CommandError(f"{name!r} must be a non-empty string")
            text[name] = value
        namespace = data.get("namespace", "")
        if not isinstance(namespace, str):
            raise CommandError("'namespace' must be a string")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise CommandError("'params' must be an object")
        confirm = data.get("confirm_protected", False)
        if not isinstance(confirm, bool):
            raise CommandError("'confirm_protected' must be true or false")
        if len(text["key"]) > 128:
            raise CommandError("'key' is longer than 128 characters")
        command = cls(
            text["action"], text["kind"], namespace, text["name"], params, text["key"], confirm
        )
        command.check()
        return command


@dataclass(frozen=True)
class Outcome:
    """How a command ended. ``message`` is for the user, in words."""

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

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "ok": self.ok,
            "message": self.message,
            "status": self.status,
            "category": self.category,
            "data": dict(self.data),
            "duration": self.duration,
            "identity": self.identity,
        }

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        if not isinstance(data, dict):
            raise CommandError("an outcome is a JSON object")
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
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CommandError(f"unreadable outcome: {error}") from None
