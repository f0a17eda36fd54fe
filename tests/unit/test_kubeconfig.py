"""Kubeconfig merging follows kubectl's documented rules — checked against kubectl itself."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from headless_agent.kube.kubeconfig import kubeconfig_paths, load_kubeconfigs
from tests.kubeharness.build import ensure_binaries


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def _config(
    *,
    current: str | None,
    contexts: dict[str, tuple[str, str]],
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [
            {"name": n, "context": {"cluster": c, "user": u}} for n, (c, u) in contexts.items()
        ],
    }
    if current is not None:
        document["current-context"] = current
    return document


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    first = _write(
        tmp_path / "team" / "first.yaml",
        _config(
            current="prod",
            contexts={
                "prod": ("prod-cluster", "red-user"),
                "shared": ("shared-cluster", "red-user"),
            },
            clusters={
                "prod-cluster": {
                    "server": "https://prod.example:6443",
                    "certificate-authority": "ca/prod.crt",
                },
                "shared-cluster": {"server": "https://first.example:6443"},
            },
            users={"red-user": {"token": "first-token"}},
        ),
    )
    second = _write(
        tmp_path / "second.yaml",
        _config(
            current="dev",
            contexts={"dev": ("dev-cluster", "blue-user"), "shared": ("other", "blue-user")},
            clusters={
                "dev-cluster": {"server": "https://dev.example:6443"},
                "shared-cluster": {"server": "https://second.example:6443"},
            },
            # red-user again, with an extra field: kubectl discards the whole second entry
            users={
                "red-user": {"token": "second-token", "username": "x"},
                "blue-user": {"token": "blue"},
            },
        ),
    )
    return first, second


def test_first_file_wins_for_current_context_and_every_named_entry(
    two_files: tuple[Path, Path],
) -> None:
    first, second = two_files
    merged = load_kubeconfigs([first, second])
    assert merged.current_context == "prod"
    assert set(merged.contexts) == {"prod", "shared", "dev"}
    assert merged.contexts["shared"].cluster == "shared-cluster"
    assert merged.contexts["shared"].server == "https://first.example:6443"
    assert merged.contexts["dev"].file == second and merged.contexts["prod"].file == first
    red = merged.config_dict("prod")["users"][0]["user"]
    assert red == {"token": "first-token"}


def test_relative_paths_resolve_against_the_file_that_defines_them(
    two_files: tuple[Path, Path],
) -> None:
    first, second = two_files
    cluster = load_kubeconfigs([second, first]).config_dict("prod")["clusters"][0]["cluster"]
    assert cluster["certificate-authority"] == str(first.parent / "ca" / "prod.crt")


def test_kubeconfig_env_list_ignores_empty_and_missing_entries(
    two_files: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = two_files
    listed = os.pathsep.join(
        ["", str(first), str(tmp_path / "missing.yaml"), str(second), str(first)]
    )
    assert kubeconfig_paths({"KUBECONFIG": listed}) == [first, second]
    home = tmp_path / "home"
    _write(home / ".kube" / "config", _config(current=None, contexts={}, clusters={}, users={}))
    assert kubeconfig_paths({}, home=home) == [home / ".kube" / "config"]


def test_a_broken_file_is_reported_and_the_others_still_load(
    two_files: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = two_files
    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [unclosed\n")
    merged = load_kubeconfigs([broken, first])
    assert set(merged.contexts) == {"prod", "shared"}
    assert merged.problems and "broken.yaml" in merged.problems[0] and "line" in merged.problems[0]


def test_context_naming_an_undefined_cluster_gives_a_clear_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.yaml",
        _config(current="x", contexts={"x": ("nowhere", "u")}, clusters={}, users={}),
    )
    merged = load_kubeconfigs([path])
    with pytest.raises(KeyError, match="nowhere"):
        merged.config_dict("x")


def test_merge_matches_kubectl_config_view(two_files: tuple[Path, Path]) -> None:
    """The same files, merged by the real kubectl: same contexts, clusters, users, current."""
    first, second = two_files
    (first.parent / "ca").mkdir()
    (first.parent / "ca" / "prod.crt").write_bytes(b"the prod CA, found relative to first.yaml")
    kubectl = ensure_binaries(quiet=True).path("kubectl")
    env = {
        "KUBECONFIG": os.pathsep.join([str(first), str(second)]),
        "PATH": os.environ.get("PATH", ""),
    }
    result = subprocess.run(
        [str(kubectl), "config", "view", "--raw", "--flatten", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(result.stdout)
    ours = load_kubeconfigs([first, second])
    assert theirs["current-context"] == ours.current_context
    their_contexts = {c["name"]: c["context"] for c in theirs["contexts"]}
    assert set(their_contexts) == set(ours.contexts)
    for name, info in ours.contexts.items():
        assert their_contexts[name]["cluster"] == info.cluster
        assert their_contexts[name]["user"] == info.user
        ours_user = ours.config_dict(name)["users"][0]["user"]
        their_user = next(u["user"] for u in theirs["users"] if u["name"] == info.user)
        assert ours_user == their_user
        ours_cluster = ours.config_dict(name)["clusters"][0]["cluster"]
        their_cluster = next(c["cluster"] for c in theirs["clusters"] if c["name"] == info.cluster)
        assert ours_cluster["server"] == their_cluster["server"]
        if "certificate-authority-data" in their_cluster:
            # --flatten embedded the file kubectl resolved; ours must name that same file.
            embedded = base64.b64decode(their_cluster["certificate-authority-data"])
            assert Path(ours_cluster["certificate-authority"]).read_bytes() == embedded
