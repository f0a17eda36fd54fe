"""What a command will change, said before it runs — from the state the engine holds.

A preview is catalog messages (ids and parameters), so each head renders it in its
language: the change itself, where (cluster, and how it is reached), and warnings (a bare
pod nothing restarts, a protected namespace that needs a second confirmation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from headless_agent.agent.client import AgentTarget
from headless_agent.hub import ClusterHandle
from headless_agent.i18n import Message
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.ops.commands import Command
from headless_agent.ops.runner import PROTECTED_REFUSAL, Operations
from headless_agent.state.records import NodeRecord, PodRecord, WorkloadRecord


@dataclass(frozen=True)
class Preview:
    change: Message
    where: Message
    warnings: list[Message] = field(default_factory=list)
    #: a protected namespace: the user must confirm a second time
    protected: bool = False
    #: AtlHyper will refuse it anyway (read-only mode, the demo fleet), and why
    refusal: Message | None = None


def preview(ops: Operations, handle: ClusterHandle, command: Command) -> Preview:
    target = command.describe_target()
    state = handle.state
    params: dict[str, object] = {"target": target}
    change: Message = (f"preview.{command.action}", params)
    warnings: list[Message] = []
    if command.action == "scale":
        record = state.get(command.kind, command.namespace, command.name)
        current = str(record.desired) if isinstance(record, WorkloadRecord) else "?"
        replicas = command.params.get("replicas", "?")
        params.update(current=current, replicas=str(replicas))
        if isinstance(replicas, int) and not isinstance(replicas, bool):
            params["count"] = replicas  # the plural form follows the new count
    elif command.action == "set-image":
        record = state.get(command.kind, command.namespace, command.name)
        images = ", ".join(record.images) if isinstance(record, WorkloadRecord) else "?"
        params.update(
            container=str(command.params.get("container", "?")),
            current=images,
            image=str(command.params.get("image", "?")),
        )
    elif command.action == "exec":
        argv = command.params.get("command", "")
        params["command"] = " ".join(argv) if isinstance(argv, list) else str(argv)
    elif command.action == "drain":
        pods = [
            p for p in state.records("Pod") if isinstance(p, PodRecord) and p.node == command.name
        ]
        daemons = [p for p in pods if p.owner_kind == "DaemonSet"]
        params.update(
            pods=str(len(pods) - len(daemons)),
            daemons=str(len(daemons)),
            timeout=str(command.params.get("timeout", 120)),
            count=len(pods) - len(daemons),
        )
    elif command.action in ("cordon", "uncordon"):
        record = state.get("Node", "", command.name)
        if isinstance(record, NodeRecord) and record.unschedulable == (command.action == "cordon"):
            warnings.append(("preview.no_change", {"target": target}))
    elif command.action in ("restart-pod", "delete-pod"):
        record = state.get("Pod", command.namespace, command.name)
        if isinstance(record, PodRecord) and not record.owner_kind:
            warnings.append(("preview.bare_pod", {"target": target}))
        if command.params.get("force"):
            warnings.append(("preview.force", {}))
    handle_refusal = ops.refusal(handle, command) if command.mutating else None
    protected = handle_refusal is not None and handle_refusal[0] == PROTECTED_REFUSAL
    if protected:
        warnings.append(("preview.protected", {"namespace": command.namespace or command.name}))
    return Preview(
        change=change,
        where=where_said(handle),
        warnings=warnings,
        protected=protected,
        refusal=None if protected else handle_refusal,
    )


def where_said(handle: ClusterHandle) -> Message:
    """Where a command runs: the cluster, and how it is reached (a context, an agent)."""
    target = handle.target
    if isinstance(target, AgentTarget):
        return ("preview.where_agent", {"cluster": handle.name, "url": target.url})
    if isinstance(target, KubeTarget):
        return ("preview.where_context", {"cluster": handle.name, "context": target.context})
    if handle.is_demo:
        return ("preview.where_demo", {"cluster": handle.name})
    return ("preview.where_other", {"cluster": handle.name})
