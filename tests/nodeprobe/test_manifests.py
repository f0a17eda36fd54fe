"""The DaemonSet and the container image: safe on every node, and agreeing with the code."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodeprobe.config import load_config
from tests.cluster.kube_objects import namespace
from tests.kubeharness.cluster import KwokCluster

Tree = Callable[[str], Path]
RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "nodeprobe"


def daemonset() -> dict[str, Any]:
    [document] = list(yaml.safe_load_all((RESOURCES / "daemonset.yaml").read_text()))
    assert document["kind"] == "DaemonSet"
    return dict(document)


def probe_container(pod: dict[str, Any]) -> dict[str, Any]:
    [container] = pod["containers"]
    return dict(container)


def test_it_runs_on_every_node_as_a_non_root_reader_of_the_host() -> None:
    manifest = daemonset()
    pod = manifest["spec"]["template"]["spec"]
    container = probe_container(pod)
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} == set(resources["limits"])
    # The probe needs about 27 MiB; the limit leaves room for an hour of buffered samples.
    assert resources["requests"]["memory"] == "32Mi" and resources["limits"]["memory"] == "64Mi"

    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    for host_path, mount_path in (
        ("/proc", "/host/proc"),
        ("/sys", "/host/sys"),
        ("/", "/host/root"),
    ):
        mount = mounts[mount_path]
        assert mount["readOnly"] is True, mount_path
        assert volumes[mount["name"]]["hostPath"]["path"] == host_path
    assert all(mount["readOnly"] for mount in container["volumeMounts"])


def test_the_node_name_comes_from_the_downward_api_and_the_token_from_a_secret() -> None:
    manifest = daemonset()
    pod = manifest["spec"]["template"]["spec"]
    container = probe_container(pod)
    env = {entry["name"]: entry for entry in container["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert "NODEPROBE_TOKEN" not in env, "no token in the manifest itself"
    token_file = env["NODEPROBE_TOKEN_FILE"]["value"]
    secret_mounts = [
        mount
        for mount in container["volumeMounts"]
        if token_file.startswith(mount["mountPath"] + "/")
    ]
    [mount] = secret_mounts
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "atlhyper-nodeprobe"
    port = int(env["NODEPROBE_LISTEN"]["value"].rpartition(":")[2])
    assert container["ports"][0]["containerPort"] == port
    annotations = manifest["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)


def test_every_variable_in_the_manifest_is_one_the_probe_accepts(
    tree: Tree, tmp_path: Path
) -> None:
    """Load the manifest's environment with the host paths pointing at a recorded host."""
    host = tree("node")
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    replacements = {
        "/host/proc": str(host / "proc"),
        "/host/sys": str(host / "sys"),
        "/host/root": str(host / "root"),
        "/var/run/secrets/atlhyper": str(tmp_path),
    }
    environment = {"NODE_NAME": "worker-1"}
    for entry in probe_container(daemonset()["spec"]["template"]["spec"])["env"]:
        if "value" in entry:
            value = entry["value"]
            for old, new in replacements.items():
                value = value.replace(old, new)
            environment[entry["name"]] = value
    config = load_config([], environment)
    assert config.node_name == "worker-1"
    assert config.agent_url and config.agent_url.startswith("https://")
    assert config.interval == 15.0 and config.listen == ("0.0.0.0", 9199)
    assert config.procfs == str(host / "proc") and config.rootfs == str(host / "root")
    assert config.ca_file == str(tmp_path / "ca.crt")
    assert "processes" not in config.collectors


def test_the_image_is_multi_stage_slim_non_root_and_pins_what_was_tested() -> None:
    text = (RESOURCES / "Containerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) == 2 and all("slim" in stage or stage.startswith("${") for stage in stages)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert 'ENTRYPOINT ["python", "-m", "nodeprobe"]' in text
    assert "COPY nodeprobe/" in text and "COPY headless_agent" not in text
    pins = dict(
        line.split("==")
        for line in (RESOURCES / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins == {"psutil": version("psutil"), "prometheus-client": version("prometheus-client")}


@pytest.mark.cluster
def test_the_api_server_accepts_the_daemonset(kube_cluster: KwokCluster) -> None:
    """A server-side dry run on the real API server: schema, defaults and admission."""
    kube_cluster.apply(namespace("atlhyper"))
    result = kube_cluster.kubectl(
        "apply", "--dry-run=server", "-o", "name", "-f", str(RESOURCES / "daemonset.yaml")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "daemonset.apps/atlhyper-nodeprobe"
