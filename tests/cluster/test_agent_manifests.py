"""The agent's manifests on the real API server: they apply, and its service account may do
exactly what it needs — in the full and the read-only variant."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster

AGENT = Path(__file__).resolve().parents[2] / "resources" / "agent"
SERVICE_ACCOUNT = "system:serviceaccount:atlhyper:atlhyper-agent"

READS = [
    ("list", "pods"),
    ("watch", "pods"),
    ("watch", "nodes"),
    ("list", "namespaces"),
    ("watch", "events"),
    ("watch", "deployments.apps"),
    ("watch", "replicasets.apps"),
    ("watch", "statefulsets.apps"),
    ("watch", "daemonsets.apps"),
    ("watch", "jobs.batch"),
    ("watch", "cronjobs.batch"),
    ("watch", "endpointslices.discovery.k8s.io"),
    ("watch", "ingresses.networking.k8s.io"),
    ("watch", "persistentvolumeclaims"),
    ("watch", "services"),
    ("get", "pods", "log"),
    ("get", "pods", "proxy"),
]
WRITES = [
    ("delete", "pods"),
    ("create", "pods", "eviction"),
    ("patch", "nodes"),
    ("patch", "deployments.apps"),
    ("patch", "statefulsets.apps"),
    ("patch", "daemonsets.apps"),
    ("patch", "deployments.apps", "scale"),
    ("patch", "statefulsets.apps", "scale"),
]
NEVER = [
    ("get", "secrets"),
    ("list", "secrets"),
    ("list", "configmaps"),
    ("create", "pods"),
    ("create", "pods", "exec"),
    ("delete", "deployments.apps"),
    ("create", "deployments.apps"),
    ("delete", "nodes"),
    ("delete", "namespaces"),
    ("update", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "serviceaccounts", "token"),
    ("impersonate", "users"),
]


def _kubectl(cluster: KwokCluster, *args: str, input: str | None = None) -> str:
    result = cluster.kubectl(*args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def _can(cluster: KwokCluster, verb: str, resource: str, subresource: str = "") -> bool:
    # A subresource goes in its own flag: "pods/log" would mean the pod named "log".
    extra = [f"--subresource={subresource}"] if subresource else []
    result = cluster.kubectl("auth", "can-i", verb, resource, *extra, "--as", SERVICE_ACCOUNT, "-A")
    assert result.stdout.strip() in ("yes", "no"), result.stderr
    return result.stdout.strip() == "yes"


def _apply_rbac(cluster: KwokCluster, variant: str) -> None:
    """Apply the variant's namespace, account and role for real (not the Deployment: kwok
    runs no containers)."""
    rendered = _kubectl(cluster, "kustomize", str(AGENT / variant))
    wanted = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    documents = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in wanted]
    assert {d["kind"] for d in documents} == wanted
    _kubectl(cluster, "apply", "-f", "-", input=yaml.safe_dump_all(documents))


@pytest.mark.parametrize("variant", ["base", "read-only"])
def test_the_manifests_pass_a_server_side_dry_run(kube_cluster: KwokCluster, variant: str) -> None:
    kube_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlhyper"}})
    out = _kubectl(kube_cluster, "apply", "--dry-run=server", "-k", str(AGENT / variant))
    for expected in (
        "serviceaccount/atlhyper-agent",
        "clusterrole.rbac.authorization.k8s.io/atlhyper-agent",
        "clusterrolebinding.rbac.authorization.k8s.io/atlhyper-agent",
        "deployment.apps/atlhyper-agent",
        "service/atlhyper-agent",
        "networkpolicy.networking.k8s.io/atlhyper-agent",
    ):
        assert expected in out, out


def test_the_service_account_may_do_what_it_needs_and_nothing_more(
    kube_cluster: KwokCluster,
) -> None:
    _apply_rbac(kube_cluster, "base")
    refused = [r for r in READS + WRITES if not _can(kube_cluster, *r)]
    assert refused == []
    allowed = [r for r in NEVER if _can(kube_cluster, *r)]
    assert allowed == []

    _apply_rbac(kube_cluster, "read-only")
    try:
        assert [r for r in READS if not _can(kube_cluster, *r)] == []
        assert [r for r in WRITES + NEVER if _can(kube_cluster, *r)] == []
    finally:
        _apply_rbac(kube_cluster, "base")  # the end-to-end agent test needs the full role


def test_the_secret_template_applies_once_filled_in(kube_cluster: KwokCluster) -> None:
    template = (AGENT / "secret-template.yaml").read_text()
    filled = template.replace("REPLACE_VIEWER", "v" * 32).replace("REPLACE_OPERATOR", "o" * 32)
    filled = filled.replace("REPLACE_PROBE", "p" * 32)
    kube_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlhyper"}})
    out = _kubectl(kube_cluster, "apply", "--dry-run=server", "-f", "-", input=filled)
    assert "secret/atlhyper-agent-tokens" in out
    # The agent reads the keys the template has, as role files.
    assert {"viewer", "operator", "probe"} <= set(yaml.safe_load(filled)["stringData"])


@pytest.mark.parametrize("bundle", ["cluster", "cluster-read-only"])
def test_everything_for_a_cluster_in_one_kustomization(
    kube_cluster: KwokCluster, bundle: str
) -> None:
    """The agent, its RBAC and nodeprobe together, as one `kubectl apply -k`."""
    kube_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlhyper"}})
    out = _kubectl(kube_cluster, "apply", "--dry-run=server", "-k", str(AGENT.parent / bundle))
    for expected in (
        "clusterrole.rbac.authorization.k8s.io/atlhyper-agent",
        "deployment.apps/atlhyper-agent",
        "daemonset.apps/atlhyper-nodeprobe",
    ):
        assert expected in out, out
    rendered = list(
        yaml.safe_load_all(_kubectl(kube_cluster, "kustomize", str(AGENT.parent / bundle)))
    )
    role = next(d for d in rendered if d and d["kind"] == "ClusterRole")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert ("patch" in verbs) == (bundle == "cluster")  # read-only: no operations
