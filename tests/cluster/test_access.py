"""Access on the real API server: a user RBAC limits to two namespaces, and exec credential
plugins (working, missing and failing)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

from headless_agent.hub import Hub
from headless_agent.kube.api import KubeApi
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.connecting import resolve_credentials
from headless_agent.kube.errors import ExecPluginFailed, ExecPluginMissing
from headless_agent.kube.health import ConnectionState
from headless_agent.kube.kubeconfig import load_kubeconfigs
from tests.cluster.engine_helpers import kubectl, wait_for
from tests.cluster.kube_objects import bare_pod, kwok_node, namespace
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

VIEWER_NAMESPACES = ("team-a", "team-b")


def _user_kubeconfig(
    cluster: KwokCluster, path: Path, user: dict[str, Any], *, namespace: str | None = None
) -> Path:
    """A kubeconfig for the test cluster's server and CA, with another user."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server_entry = admin["clusters"][0]
    context: dict[str, Any] = {"cluster": server_entry["name"], "user": "tester"}
    if namespace:
        context["namespace"] = namespace
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [server_entry],
                "users": [{"name": "tester", "user": user}],
                "contexts": [{"name": "tester@test", "context": context}],
                "current-context": "tester@test",
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def viewer_token(kube_cluster: KwokCluster) -> str:
    """A service account allowed to view team-a and team-b, and to list namespaces."""
    rbac = [namespace(n) for n in (*VIEWER_NAMESPACES, "team-secret")]
    rbac.append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "viewer", "namespace": "team-a"},
        }
    )
    subject = [{"kind": "ServiceAccount", "name": "viewer", "namespace": "team-a"}]
    for ns in VIEWER_NAMESPACES:
        rbac.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "viewer", "namespace": ns},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "view",
                },
                "subjects": subject,
            }
        )
    rbac += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "namespace-lister"},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "viewer-namespace-lister"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "namespace-lister",
            },
            "subjects": subject,
        },
    ]
    kube_cluster.apply(*rbac, kwok_node("access-node"))
    kube_cluster.apply(
        *[bare_pod(f"pod-{ns}", ns, "access-node") for ns in (*VIEWER_NAMESPACES, "team-secret")],
    )
    token = kube_cluster.kubectl("create", "token", "viewer", "-n", "team-a", "--duration=1h")
    assert token.returncode == 0, token.stderr
    return token.stdout.strip()


async def test_user_limited_to_two_namespaces_sees_them_and_a_note_about_the_rest(
    kube_cluster: KwokCluster, viewer_token: str, tmp_path: Path, nursery: trio.Nursery
) -> None:
    path = _user_kubeconfig(kube_cluster, tmp_path / "viewer.yaml", {"token": viewer_token})
    kubeconfigs = load_kubeconfigs([path])
    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_context(KubeTarget(kubeconfigs, "tester@test"))
    await wait_for(
        lambda: {p.name for p in handle.state.records("Pod")} >= {"pod-team-a", "pod-team-b"},
        60,
        "the pods of both allowed namespaces",
    )
    await wait_for(
        lambda: handle.health.snapshot.state is ConnectionState.DEGRADED,
        30,
        "a degraded state that says why",
    )
    snapshot = handle.health.snapshot
    assert {p.namespace for p in handle.state.records("Pod")} == set(VIEWER_NAMESPACES)
    notes = " | ".join(snapshot.hidden)
    assert "nodes: hidden — not allowed to list nodes at cluster scope" in notes
    assert "pods: cluster-wide listing is forbidden; showing namespaces team-a, team-b" in notes
    assert "forbidden in" in notes
    assert handle.state.count("Node") == 0
    nursery.cancel_scope.cancel()


async def test_without_namespace_listing_the_context_and_configured_namespaces_are_used(
    kube_cluster: KwokCluster, viewer_token: str, tmp_path: Path, nursery: trio.Nursery
) -> None:
    await kubectl(kube_cluster, "delete", "clusterrolebinding", "viewer-namespace-lister")
    path = _user_kubeconfig(
        kube_cluster, tmp_path / "viewer.yaml", {"token": viewer_token}, namespace="team-a"
    )
    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_context(
        KubeTarget(load_kubeconfigs([path]), "tester@test", fallback_namespaces=["team-b"])
    )
    await wait_for(
        lambda: {p.name for p in handle.state.records("Pod")} == {"pod-team-a", "pod-team-b"},
        60,
        "both namespaces' pods",
    )
    await wait_for(lambda: handle.health.snapshot.state is ConnectionState.DEGRADED, 30, "degraded")
    notes = " | ".join(handle.health.snapshot.hidden)
    assert "listing namespaces is forbidden" in notes
    nursery.cancel_scope.cancel()


def _plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _exec_user(command: str) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": command,
            "interactiveMode": "Never",
        }
    }


async def test_exec_plugin_found_on_the_extra_path_authenticates(
    kube_cluster: KwokCluster, viewer_token: str, tmp_path: Path, nursery: trio.Nursery
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(viewer_token)
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "TOKEN"},
    }
    template = json.dumps(credential).replace('"TOKEN"', '"\'"$(cat ' + str(token_file) + ')"\'"')
    plugins = tmp_path / "plugins"
    _plugin(plugins, "atlhyper-test-credential", f"echo '{template}'\n")
    path = _user_kubeconfig(
        kube_cluster,
        tmp_path / "exec.yaml",
        _exec_user("atlhyper-test-credential"),
        namespace="team-a",
    )
    kubeconfigs = load_kubeconfigs([path])

    with pytest.raises(ExecPluginMissing, match=r"atlhyper-test-credential.*not found"):
        resolve_credentials(kubeconfigs, "tester@test")

    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_context(KubeTarget(kubeconfigs, "tester@test", extra_path=[str(plugins)]))
    await wait_for(
        lambda: handle.state.get("Pod", "team-a", "pod-team-a") is not None,
        60,
        "a pod seen through the plugin's token",
    )
    nursery.cancel_scope.cancel()


async def test_missing_and_failing_plugins_give_clear_errors(
    kube_cluster: KwokCluster, tmp_path: Path, nursery: trio.Nursery
) -> None:
    missing = load_kubeconfigs(
        [
            _user_kubeconfig(
                kube_cluster, tmp_path / "m.yaml", _exec_user("no-such-credential-helper")
            )
        ]
    )
    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_context(KubeTarget(missing, "tester@test"))
    await wait_for(lambda: handle.health.snapshot.state is ConnectionState.OFFLINE, 10, "offline")
    snapshot = handle.health.snapshot
    assert snapshot.last_error_category == "exec-plugin-missing"
    assert "no-such-credential-helper" in (snapshot.last_error or "")

    plugins = tmp_path / "plugins"
    _plugin(
        plugins, "broken-helper", "echo 'error: your SSO session expired, run: login' >&2\nexit 3\n"
    )
    failing = load_kubeconfigs(
        [_user_kubeconfig(kube_cluster, tmp_path / "f.yaml", _exec_user("broken-helper"))]
    )
    with pytest.raises(ExecPluginFailed, match=r"returned 3.*SSO session expired"):
        resolve_credentials(failing, "tester@test", extra_path=[str(plugins)])
    nursery.cancel_scope.cancel()


def _counting_plugin(
    folder: Path, token_file: Path, count_file: Path, *, wrong_first: bool, expires_in: int
) -> None:
    """A plugin that counts its runs; with ``wrong_first`` its first token is rejected."""
    _plugin(
        folder,
        "counting-credential",
        f"""n=$(cat {count_file} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count_file}
token=$(cat {token_file})
if [ "{int(wrong_first)}" = 1 ] && [ "$n" = 1 ]; then token=expired-token; fi
expiry=$(date -u -d "+{expires_in} seconds" +%Y-%m-%dT%H:%M:%SZ)
kind='"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"'
printf '{{%s,"status":{{"token":"%s","expirationTimestamp":"%s"}}}}' "$kind" "$token" "$expiry"
""",
    )


async def test_a_rejected_token_reruns_the_plugin_once_and_succeeds(
    kube_cluster: KwokCluster, viewer_token: str, tmp_path: Path
) -> None:
    token_file, count_file = tmp_path / "token", tmp_path / "runs"
    token_file.write_text(viewer_token)
    _counting_plugin(tmp_path / "bin", token_file, count_file, wrong_first=True, expires_in=3600)
    path = _user_kubeconfig(kube_cluster, tmp_path / "c.yaml", _exec_user("counting-credential"))
    credentials = resolve_credentials(
        load_kubeconfigs([path]), "tester@test", extra_path=[str(tmp_path / "bin")]
    )
    api = KubeApi(credentials)
    pods = await api.get_json("/api/v1/namespaces/team-a/pods")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["pod-team-a"]
    assert count_file.read_text().strip() == "2", "one run at start, one after the 401"
    await api.aclose()


async def test_an_expiring_token_is_refreshed_before_the_next_request(
    kube_cluster: KwokCluster, viewer_token: str, tmp_path: Path
) -> None:
    token_file, count_file = tmp_path / "token", tmp_path / "runs"
    token_file.write_text(viewer_token)
    # Expiring within the client's safety margin: every refresh check must run it again.
    _counting_plugin(tmp_path / "bin", token_file, count_file, wrong_first=False, expires_in=5)
    path = _user_kubeconfig(kube_cluster, tmp_path / "c.yaml", _exec_user("counting-credential"))
    credentials = resolve_credentials(
        load_kubeconfigs([path]), "tester@test", extra_path=[str(tmp_path / "bin")]
    )
    api = KubeApi(credentials)
    await api.refresh_credentials()
    await api.get_json("/api/v1/namespaces/team-a/pods")
    assert count_file.read_text().strip() == "2"
    await api.aclose()


@pytest.mark.parametrize(
    ("broken", "category", "words"),
    [
        ("unreachable", "unreachable", "cannot reach https://127.0.0.1:1"),
        ("untrusted-ca", "tls", "certificate we cannot verify"),
        ("bad-token", "unauthorized", "Unauthorized"),
    ],
)
async def test_each_failure_is_diagnosed_in_words(
    kube_cluster: KwokCluster,
    tmp_path: Path,
    nursery: trio.Nursery,
    broken: str,
    category: str,
    words: str,
) -> None:
    path = _user_kubeconfig(kube_cluster, tmp_path / "c.yaml", {"token": "not-a-valid-token"})
    document = yaml.safe_load(path.read_text())
    cluster = document["clusters"][0]["cluster"]
    if broken == "unreachable":
        cluster["server"] = "https://127.0.0.1:1"
    elif broken == "untrusted-ca":
        cluster.pop("certificate-authority", None)
        cluster.pop("certificate-authority-data", None)
    path.write_text(yaml.safe_dump(document))
    hub = Hub()
    await nursery.start(hub.run)
    handle = hub.watch_context(KubeTarget(load_kubeconfigs([path]), "tester@test"))
    await wait_for(
        lambda: handle.health.snapshot.state is ConnectionState.OFFLINE, 30, f"offline for {broken}"
    )
    snapshot = handle.health.snapshot
    assert snapshot.last_error_category == category
    assert words in (snapshot.last_error or "")
    nursery.cancel_scope.cancel()
