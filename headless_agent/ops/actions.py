"""Each operation against the API server, done the way kubectl does it.

An action takes the cluster's ``KubeApi`` and a checked ``Command`` and returns what its
outcome says (a catalog message id and parameters, rendered by each head in its reader's
language) and its data; API errors propagate as ``KubeError``, which says itself
(``KubeError.said``). Paths and patch types follow kubectl: scale through the ``scale`` subresource,
rollout restart by the ``kubectl.kubernetes.io/restartedAt`` annotation, rollback to the
previous ReplicaSet's template, drain through the Eviction API (PodDisruptionBudgets
honoured, DaemonSet and mirror pods skipped).
"""

from __future__ import annotations

import datetime
import difflib
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio
import yaml

from headless_agent import i18n
from headless_agent.kube.api import KubeApi
from headless_agent.kube.errors import KubeError, NotFound, TooManyRequests
from headless_agent.kube.pod_exec import exec_in_container
from headless_agent.ops.commands import Command, CommandError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

_WORKLOAD_PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets/{name}",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets/{name}",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs/{name}",
    "Pod": "/api/v1/namespaces/{ns}/pods/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}",
    "Node": "/api/v1/nodes/{name}",
    "Namespace": "/api/v1/namespaces/{name}",
}


def object_path(kind: str, namespace: str, name: str) -> str:
    return _WORKLOAD_PATHS[kind].format(ns=namespace, name=name)


@dataclass
class Result:
    """What an action says it did (a catalog message id and its parameters) and its data."""

    message_id: str
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def said(self) -> i18n.Message:
        return (self.message_id, self.params)


#: told how a long operation is getting on, as a catalog message
Progress = Callable[[i18n.Message], None]
Action = Callable[[KubeApi, Command, Progress], Awaitable[Result]]


def _int_param(command: Command, name: str, low: int, high: int, default: int | None = None) -> int:
    value = command.params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandError(
            "operation.error.whole_number", action=command.action, name=name, low=low, high=high
        )
    return value


def _text_param(command: Command, name: str) -> str:
    value = command.params.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CommandError("operation.error.required", action=command.action, name=name)
    return value.strip()


# --- workloads ---------------------------------------------------------------------------------


async def scale(api: KubeApi, command: Command, progress: Progress) -> Result:
    replicas = _int_param(command, "replicas", 0, 10_000)
    path = object_path(command.kind, command.namespace, command.name) + "/scale"
    before = await api.get_json(path)
    await api.request_json("PATCH", path, body={"spec": {"replicas": replicas}}, content_type=MERGE)
    was = before.get("spec", {}).get("replicas")
    return Result(
        "operation.scaled",
        {"target": command.describe_target(), "was": str(was), "count": replicas},
        {"from": was, "to": replicas},
    )


async def rollout_restart(api: KubeApi, command: Command, progress: Progress) -> Result:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}
        }
    }
    path = object_path(command.kind, command.namespace, command.name)
    await api.request_json("PATCH", path, body=patch, content_type=STRATEGIC)
    return Result(
        "operation.restarting", {"target": command.describe_target()}, {"restartedAt": now}
    )


def _revision(replicaset: Mapping[str, Any]) -> int:
    annotations = replicaset.get("metadata", {}).get("annotations") or {}
    try:
        return int(annotations.get("deployment.kubernetes.io/revision", "0"))
    except ValueError:
        return 0


async def rollback(api: KubeApi, command: Command, progress: Progress) -> Result:
    deployment = await api.get_json(object_path("Deployment", command.namespace, command.name))
    uid = deployment["metadata"]["uid"]
    listing = await api.get_json(f"/apis/apps/v1/namespaces/{command.namespace}/replicasets")
    owned = [
        rs
        for rs in listing.get("items", [])
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
    ]
    owned.sort(key=_revision, reverse=True)
    if len(owned) < 2:
        raise CommandError("operation.error.no_previous_revision", target=command.describe_target())
    target = owned[1]
    template = target["spec"]["template"]
    labels = dict(template.get("metadata", {}).get("labels") or {})
    labels.pop("pod-template-hash", None)  # the controller adds its own
    template = {**template, "metadata": {**template.get("metadata", {}), "labels": labels}}
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    await api.request_json(
        "PATCH",
        object_path("Deployment", command.namespace, command.name),
        body=patch,
        content_type="application/json-patch+json",
    )
    revision = _revision(target)
    return Result(
        "operation.rolled_back",
        {"target": command.describe_target(), "revision": revision},
        {"revision": revision, "from_revision": _revision(owned[0])},
    )


async def set_image(api: KubeApi, command: Command, progress: Progress) -> Result:
    container = _text_param(command, "container")
    image = _text_param(command, "image")
    path = object_path(command.kind, command.namespace, command.name)
    current = await api.get_json(path)
    containers = current["spec"]["template"]["spec"].get("containers", [])
    if not any(c.get("name") == container for c in containers):
        names = ", ".join(c.get("name", "?") for c in containers)
        raise CommandError(
            "operation.error.no_container",
            target=command.describe_target(),
            container=container,
            names=names,
        )
    patch = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    await api.request_json("PATCH", path, body=patch, content_type=STRATEGIC)
    return Result(
        "operation.image_set",
        {"target": command.describe_target(), "container": container, "image": image},
    )


# --- nodes -------------------------------------------------------------------------------------


async def _set_unschedulable(api: KubeApi, node: str, value: bool) -> None:
    await api.request_json(
        "PATCH", object_path("Node", "", node), body={"spec": {"unschedulable": value}},
        content_type=MERGE,
    )  # fmt: skip


async def cordon(api: KubeApi, command: Command, progress: Progress) -> Result:
    await _set_unschedulable(api, command.name, True)
    return Result("operation.cordoned", {"node": command.name})


async def uncordon(api: KubeApi, command: Command, progress: Progress) -> Result:
    await _set_unschedulable(api, command.name, False)
    return Result("operation.uncordoned", {"node": command.name})


def _controller(pod: Mapping[str, Any]) -> tuple[str, str]:
    for owner in pod["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner.get("kind", "")), str(owner.get("name", ""))
    return "", ""


async def drain(api: KubeApi, command: Command, progress: Progress) -> Result:
    """Cordon, then evict every pod but DaemonSet and mirror pods, retrying while a
    PodDisruptionBudget says no, until ``timeout`` seconds; report what moved and what
    blocked."""
    timeout = _int_param(command, "timeout", 1, 3600, default=120)
    grace = command.params.get("grace_seconds")
    await _set_unschedulable(api, command.name, True)
    listing = await api.get_json(
        "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={command.name}"}
    )
    to_evict, skipped = [], []
    for pod in listing.get("items", []):
        meta = pod["metadata"]
        label = f"{meta['namespace']}/{meta['name']}"
        kind, _ = _controller(pod)
        if kind == "DaemonSet":
            skipped.append({"pod": label, "why": "managed by a DaemonSet"})
        elif "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
            skipped.append({"pod": label, "why": "a static (mirror) pod"})
        elif pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            skipped.append({"pod": label, "why": "already finished"})
        else:
            to_evict.append((meta["namespace"], meta["name"]))
    progress(("operation.draining", {"node": command.name, "count": len(to_evict)}))
    evicted: list[str] = []
    blocked: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    pending = list(to_evict)
    while pending and time.monotonic() < deadline:
        still = []
        for namespace, name in pending:
            body: dict[str, Any] = {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
            }
            if isinstance(grace, int) and not isinstance(grace, bool):
                body["deleteOptions"] = {"gracePeriodSeconds": grace}
            try:
                await api.request_json(
                    "POST", f"/api/v1/namespaces/{namespace}/pods/{name}/eviction", body=body
                )
                evicted.append(f"{namespace}/{name}")
                blocked.pop(f"{namespace}/{name}", None)
                progress(
                    (
                        "operation.evicting",
                        {
                            "pod": f"{namespace}/{name}",
                            "done": len(evicted),
                            "total": len(to_evict),
                        },
                    )
                )
            except NotFound:
                evicted.append(f"{namespace}/{name}")  # gone already
            except TooManyRequests as error:  # a PodDisruptionBudget does not allow it now
                blocked[f"{namespace}/{name}"] = str(error)
                still.append((namespace, name))
        pending = still
        if pending:
            await trio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    report = {"evicted": evicted, "skipped": skipped, "blocked": blocked}
    if blocked:
        reasons = "; ".join(f"{pod}: {why}" for pod, why in sorted(blocked.items()))
        said: i18n.Message = (
            "operation.drain_blocked",
            {
                "node": command.name,
                "timeout": timeout,
                "count": len(blocked),
                "reasons": reasons,  # the API server's words, verbatim
                "evicted": len(evicted),
                "skipped": len(skipped),
            },
        )
        raise DrainBlocked(said, report)
    return Result(
        "operation.drained",
        {"node": command.name, "evicted": len(evicted), "skipped": len(skipped)},
        report,
    )


class DrainBlocked(KubeError):
    """A drain that could not evict everything in time (a PodDisruptionBudget, usually)."""

    category = "drain-blocked"

    def __init__(self, said: i18n.Message, report: dict[str, Any]) -> None:
        message_id, params = said
        super().__init__(i18n.english(message_id, **params), said=said)
        self.report = report


# --- pods --------------------------------------------------------------------------------------


async def _pod(api: KubeApi, command: Command) -> dict[str, Any]:
    pod: dict[str, Any] = await api.get_json(object_path("Pod", command.namespace, command.name))
    return pod


async def delete_pod(api: KubeApi, command: Command, progress: Progress) -> Result:
    force = bool(command.params.get("force", False))
    params: dict[str, str | int | bool] = {"gracePeriodSeconds": 0} if force else {}
    await api.request_json(
        "DELETE", object_path("Pod", command.namespace, command.name), params=params
    )
    deleted = "operation.pod_deleted_forced" if force else "operation.pod_deleted"
    return Result(deleted, {"pod": f"{command.namespace}/{command.name}"})


async def restart_pod(api: KubeApi, command: Command, progress: Progress) -> Result:
    pod = await _pod(api, command)
    kind, name = _controller(pod)
    await api.request_json("DELETE", object_path("Pod", command.namespace, command.name))
    pod_name = f"{command.namespace}/{command.name}"
    if kind:
        return Result(
            "operation.pod_restarted", {"pod": pod_name, "kind": kind, "controller": name}
        )
    return Result("operation.bare_pod_deleted", {"pod": pod_name}, {"bare": True})


async def logs(api: KubeApi, command: Command, progress: Progress) -> Result:
    params: dict[str, str | int | bool] = {}
    container = command.params.get("container")
    if isinstance(container, str) and container:
        params["container"] = container
    if command.params.get("previous"):
        params["previous"] = True
    tail = command.params.get("tail")
    if tail is not None:
        params["tailLines"] = _int_param(command, "tail", 1, 100_000)
    since = command.params.get("since_seconds")
    if since is not None:
        params["sinceSeconds"] = _int_param(command, "since_seconds", 1, 30 * 86400)
    since_time = command.params.get("since_time")
    if isinstance(since_time, str) and since_time:
        params["sinceTime"] = since_time  # RFC 3339; a follower asks from its last line
    if command.params.get("timestamps"):
        params["timestamps"] = True
    limit = 2 * 2**20  # what a viewer shows; more is a download, not a panel
    params["limitBytes"] = limit
    text = await api.get_text(
        object_path("Pod", command.namespace, command.name) + "/log", params=params
    )
    lines = text.count("\n")
    return Result(
        "operation.log_lines", {"count": lines}, {"text": text, "truncated": len(text) >= limit}
    )


async def exec_command(api: KubeApi, command: Command, progress: Progress) -> Result:
    """A non-interactive command in a container; its output and exit code."""
    argv = command.params.get("command")
    if isinstance(argv, str):
        argv = shlex.split(argv)
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise CommandError("operation.error.exec_command_required")
    container = command.params.get("container")
    timeout = _int_param(command, "timeout", 1, 600, default=30)
    result = await trio.to_thread.run_sync(
        lambda: exec_in_container(
            api.credentials,
            command.namespace,
            command.name,
            container if isinstance(container, str) and container else None,
            argv,
            timeout,
        )
    )
    data = {
        "text": result.stdout + result.stderr,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "exit_code": result.exit_code,
        "truncated": result.truncated,
    }
    if result.exit_code is None:
        return Result(
            "operation.exec_still_running", {"command": shlex.join(argv), "timeout": timeout}, data
        )
    return Result(
        "operation.exec_exited", {"command": shlex.join(argv), "code": result.exit_code}, data
    )


# --- reading objects ---------------------------------------------------------------------------


def _without_noise(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return {**obj, "metadata": metadata}


async def yaml_of(api: KubeApi, command: Command, progress: Progress) -> Result:

    obj = await api.get_json(object_path(command.kind, command.namespace, command.name))
    text = yaml.safe_dump(_without_noise(obj), sort_keys=False)
    return Result("operation.yaml", {"target": command.describe_target()}, {"yaml": text})


async def describe(api: KubeApi, command: Command, progress: Progress) -> Result:

    obj = await api.get_json(object_path(command.kind, command.namespace, command.name))
    selector = f"involvedObject.name={command.name},involvedObject.kind={command.kind}"
    where = (
        f"/api/v1/namespaces/{command.namespace}/events"
        if command.namespace
        else ("/api/v1/events")
    )
    events = await api.get_json(where, params={"fieldSelector": selector})
    rows = [
        {
            "type": e.get("type", ""),
            "reason": e.get("reason", ""),
            "count": e.get("count") or 1,
            "last": e.get("lastTimestamp") or e.get("eventTime") or "",
            "message": e.get("message", ""),
        }
        for e in events.get("items", [])
    ]
    text = yaml.safe_dump(_without_noise(obj), sort_keys=False)
    return Result(
        "operation.described",
        {"target": command.describe_target(), "count": len(rows)},
        {"yaml": text, "events": rows},
    )


# --- edited YAML --------------------------------------------------------------------------------

_NOISE = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object without what the server keeps changing by itself, for a readable diff."""
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k not in _NOISE}
    return {k: v for k, v in {**obj, "metadata": metadata}.items() if k != "status"}


def _edited(command: Command) -> dict[str, Any]:

    text = _text_param(command, "yaml")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CommandError("operation.error.yaml_unreadable", detail=str(error)) from None
    if not isinstance(document, dict):
        raise CommandError("operation.error.yaml_not_an_object")
    metadata = document.get("metadata") or {}
    found = (
        document.get("kind"),
        metadata.get("namespace", command.namespace),
        metadata.get("name"),
    )
    expected = (command.kind, command.namespace, command.name)
    if found != expected:
        raise CommandError(
            "operation.error.yaml_other_object",
            found=f"{found[0]} {found[1]}/{found[2]}",
            target=command.describe_target(),
        )
    return document


async def _server_side_apply(api: KubeApi, command: Command, dry_run: bool) -> dict[str, Any]:

    # Applied as the user's intent for the fields they wrote: what the server keeps
    # changing by itself (resourceVersion, status, ...) would only make it conflict with
    # the controller's own updates a moment later.
    document = _comparable(_edited(command))
    params: dict[str, str | int | bool] = {"fieldManager": "atlhyper", "force": True}
    if dry_run:
        params["dryRun"] = "All"
    result: dict[str, Any] = await api.request_json(
        "PATCH",
        object_path(command.kind, command.namespace, command.name),
        params=params,
        body=None,
        content_type="application/apply-patch+yaml",
        raw_body=yaml.safe_dump(document).encode(),
    )
    return result


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:

    old = yaml.safe_dump(_comparable(before), sort_keys=True).splitlines(keepends=True)
    new = yaml.safe_dump(_comparable(after), sort_keys=True).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, "live", "after apply"))


async def apply_dry_run(api: KubeApi, command: Command, progress: Progress) -> Result:
    current = await api.get_json(object_path(command.kind, command.namespace, command.name))
    after = await _server_side_apply(api, command, dry_run=True)
    diff = _diff(current, after)
    target = {"target": command.describe_target()}
    if not diff:
        return Result("operation.dry_run_unchanged", target, {"diff": ""})
    changed = sum(1 for line in diff.splitlines() if line[:1] in "+-") - 2
    return Result("operation.dry_run_accepted", {**target, "count": changed}, {"diff": diff})


async def apply(api: KubeApi, command: Command, progress: Progress) -> Result:
    current = await api.get_json(object_path(command.kind, command.namespace, command.name))
    after = await _server_side_apply(api, command, dry_run=False)
    return Result(
        "operation.applied", {"target": command.describe_target()}, {"diff": _diff(current, after)}
    )


ACTION_FUNCTIONS: dict[str, Action] = {
    "scale": scale,
    "rollout-restart": rollout_restart,
    "rollback": rollback,
    "set-image": set_image,
    "cordon": cordon,
    "uncordon": uncordon,
    "drain": drain,
    "delete-pod": delete_pod,
    "restart-pod": restart_pod,
    "logs": logs,
    "exec": exec_command,
    "yaml": yaml_of,
    "describe": describe,
    "apply-dry-run": apply_dry_run,
    "apply": apply,
}
