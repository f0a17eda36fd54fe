"""Find and merge kubeconfig files the way kubectl does, remembering where each entry came from.

kubectl's rules (kubernetes.io, "Organizing cluster access using kubeconfig files"):

- ``$KUBECONFIG`` is a list of files (``:`` on POSIX, ``;`` on Windows); empty entries and
  files that do not exist are ignored; without it, ``~/.kube/config`` is used.
- The first file to set a value or map key wins and is never changed by later files: the
  first ``current-context`` set wins, and a user, cluster or context named in two files is
  taken whole from the first (non-conflicting fields of the second are discarded too).
- Relative paths in a file (certificate-authority, client-certificate, client-key,
  tokenFile, an exec command with a directory part) are relative to that file's folder.

The official client's merger lets the *last* current-context win and resolves paths
against the first file only, so the merge is done here; authentication itself (certificates,
tokens, exec plugins, OIDC) stays with the official client's loader (see ``connecting``).
A file that cannot be read or parsed is reported in ``problems`` and skipped: one broken
file must not hide the contexts of the others.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("clusters", "users", "contexts")
IN_CLUSTER_CONTEXT = "in-cluster"
_SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
_RELATIVE_PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """One context as a user sees it in the sidebar."""

    name: str
    file: Path | None  # None for the in-cluster service account
    cluster: str
    user: str
    namespace: str | None
    server: str | None


@dataclass(slots=True)
class KubeconfigSet:
    """The merged view of every kubeconfig file in effect."""

    files: tuple[Path, ...]
    current_context: str | None
    contexts: dict[str, ContextInfo]
    problems: list[str] = field(default_factory=list)
    # name -> entry (the inner mapping, paths made absolute), per section
    _entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    in_cluster: bool = False

    def config_dict(self, context: str) -> dict[str, Any]:
        """A self-contained kubeconfig with just this context, for the client's loader."""
        info = self.contexts.get(context)
        if info is None:
            raise KeyError(f"no context named {context!r} in {self.describe_files()}")
        context_entry = self._entries["contexts"][context]
        cluster = self._entries["clusters"].get(info.cluster)
        user = self._entries["users"].get(info.user, {})
        if cluster is None:
            raise KeyError(
                f"context {context!r} names cluster {info.cluster!r}, "
                f"which no kubeconfig file defines"
            )
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "contexts": [{"name": context, "context": copy.deepcopy(context_entry)}],
            "clusters": [{"name": info.cluster, "cluster": copy.deepcopy(cluster)}],
            "users": [{"name": info.user, "user": copy.deepcopy(user)}],
        }

    def describe_files(self) -> str:
        return ", ".join(str(f) for f in self.files) or "no kubeconfig file"


def kubeconfig_paths(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> list[Path]:
    """The files kubectl would read, in order, existing ones only, without duplicates."""
    environ = os.environ if environ is None else environ
    listed = environ.get("KUBECONFIG")
    if listed:
        candidates = [Path(os.path.expanduser(p)) for p in listed.split(os.pathsep) if p]
    else:
        candidates = [(home or Path.home()) / ".kube" / "config"]
    seen: set[Path] = set()
    paths = []
    for path in candidates:
        resolved = path.absolute()
        if resolved not in seen and resolved.is_file():
            seen.add(resolved)
            paths.append(resolved)
    return paths


def load_kubeconfigs(
    paths: list[Path] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> KubeconfigSet:
    """Merge the given files (default: kubectl's search) into one KubeconfigSet."""
    environ = os.environ if environ is None else environ
    paths = kubeconfig_paths(environ, home) if paths is None else paths
    entries: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SECTIONS}
    sources: dict[str, Path] = {}
    current: str | None = None
    problems: list[str] = []
    for path in paths:
        document = _read_document(path, problems)
        if document is None:
            continue
        if not current and isinstance(document.get("current-context"), str):
            current = document["current-context"] or None
        for section in SECTIONS:
            for item in _section_items(document, section, path, problems):
                name, inner = item
                if name in entries[section]:
                    continue  # first file wins, whole entry
                entries[section][name] = _absolutise(section, inner, path.parent)
                if section == "contexts":
                    sources[name] = path
    contexts = {}
    for name, entry in entries["contexts"].items():
        cluster_name = str(entry.get("cluster", ""))
        cluster = entries["clusters"].get(cluster_name, {})
        contexts[name] = ContextInfo(
            name=name,
            file=sources[name],
            cluster=cluster_name,
            user=str(entry.get("user", "")),
            namespace=entry.get("namespace") or None,
            server=cluster.get("server"),
        )
    merged = KubeconfigSet(
        files=tuple(paths),
        current_context=current if current in contexts else None,
        contexts=contexts,
        problems=problems,
        _entries=entries,
    )
    if current and current not in contexts:
        problems.append(f"current-context {current!r} is not defined in {merged.describe_files()}")
    if not contexts and _in_cluster_available(environ):
        merged.in_cluster = True
        host, port = environ["KUBERNETES_SERVICE_HOST"], environ["KUBERNETES_SERVICE_PORT"]
        merged.contexts[IN_CLUSTER_CONTEXT] = ContextInfo(
            name=IN_CLUSTER_CONTEXT,
            file=None,
            cluster=IN_CLUSTER_CONTEXT,
            user="serviceaccount",
            namespace=None,
            server=f"https://{host}:{port}",
        )
        merged.current_context = IN_CLUSTER_CONTEXT
    return merged


def _in_cluster_available(environ: Mapping[str, str]) -> bool:
    return (
        "KUBERNETES_SERVICE_HOST" in environ
        and "KUBERNETES_SERVICE_PORT" in environ
        and _SERVICE_ACCOUNT_TOKEN.is_file()
    )


def _read_document(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        problems.append(f"{path}: cannot read ({error.strerror or error})")
        return None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problems.append(f"{path}: not valid YAML{where}")
        return None
    if document is None:
        return None  # an empty file is allowed and contributes nothing
    if not isinstance(document, dict):
        problems.append(f"{path}: not a kubeconfig (top level is not a mapping)")
        return None
    return document


def _section_items(
    document: dict[str, Any], section: str, path: Path, problems: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    raw = document.get(section) or []
    if not isinstance(raw, list):
        problems.append(f"{path}: '{section}' is not a list; ignored")
        return []
    inner_key = section[:-1]  # clusters -> cluster
    items = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(f"{path}: {section} entry {position} has no name; ignored")
            continue
        inner = item.get(inner_key) or {}
        if not isinstance(inner, dict):
            problems.append(f"{path}: {section} entry {item['name']!r} is malformed; ignored")
            continue
        items.append((item["name"], inner))
    return items


def _absolutise(section: str, entry: dict[str, Any], base: Path) -> dict[str, Any]:
    entry = copy.deepcopy(entry)
    for key in _RELATIVE_PATH_FIELDS.get(section, ()):
        value = entry.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            entry[key] = str(base / os.path.expanduser(value))
    exec_config = entry.get("exec") if section == "users" else None
    if isinstance(exec_config, dict):
        command = exec_config.get("command")
        # kubectl: a command with a path separator is relative to the kubeconfig's folder;
        # a bare name is looked up on PATH.
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            exec_config["command"] = str(base / command)
    return entry
