"""A real Kubernetes control plane on loopback, started and stopped by kwokctl.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as real processes
(``--runtime binary``, from the binaries ``build.py`` compiled); kwok-controller plays the
kubelet, so nodes heartbeat and pods reach Running. Every component binds to 127.0.0.1,
the cluster's files live in a private work directory, and the kubeconfig is a file of its
own: the user's ~/.kube/config and ~/.kwok are never touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.kubeharness.build import ControlPlaneBinaries, ensure_binaries

# Bind every component to loopback (kwokctl's default is 0.0.0.0). kwok-controller plays
# the kubelet only of nodes annotated kwok.x-k8s.io/node=fake (kube_objects.kwok_node):
# a node without it has no heartbeat, so a test can keep it NotReady (the last value of a
# repeated flag wins over kwokctl's --manage-all-nodes=true).
KWOKCTL_CONFIG = """\
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  bindAddress: 127.0.0.1
componentsPatches:
  - name: kwok-controller
    extraArgs:
      - key: manage-all-nodes
        value: "false"
      - key: manage-nodes-with-annotation-selector
        value: kwok.x-k8s.io/node=fake
"""


class ClusterStartError(RuntimeError):
    """The control plane could not be started; the message carries kwokctl's own output."""


@dataclass
class KwokCluster:
    """One kwokctl cluster with a private work directory and kubeconfig file."""

    name: str
    binaries: ControlPlaneBinaries
    workdir: Path
    kubeconfig: Path = field(init=False)

    def __post_init__(self) -> None:
        self.kubeconfig = self.workdir / "kubeconfig.yaml"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # kwokctl calls kubectl by name; ours comes first on PATH.
        env["PATH"] = f"{self.binaries.directory}{os.pathsep}{env.get('PATH', '')}"
        env["KWOK_WORKDIR"] = str(self.workdir)
        env.pop("KUBECONFIG", None)
        return env

    def kwokctl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [
            str(self.binaries.path("kwokctl")),
            "--name",
            self.name,
            "-c",
            str(self.workdir / "kwokctl.yaml"),
            *args,
        ]
        return subprocess.run(
            command,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run our kubectl against this cluster (a test helper, as a user would)."""
        command = [str(self.binaries.path("kubectl")), "--kubeconfig", str(self.kubeconfig)]
        return subprocess.run(
            [*command, *args], input=input, capture_output=True, text=True, check=False
        )

    def apply(self, *objects: dict[str, Any]) -> None:
        """Create or update objects with kubectl apply (server-side), failing loudly."""
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
        for attempt in range(6):
            result = self.kubectl(
                "apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest
            )
            # A namespace created in the same List can lag behind the API server's
            # admission cache for a moment ("namespaces ... not found"): apply again.
            if result.returncode == 0 or "not found" not in result.stderr or attempt == 5:
                break
            time.sleep(0.5)
        if result.returncode != 0:
            raise RuntimeError(f"kubectl apply failed: {result.stderr}")

    def get(self, *args: str) -> Any:
        """kubectl get ... -o json, parsed."""
        result = self.kubectl("get", *args, "-o", "json")
        if result.returncode != 0:
            raise RuntimeError(f"kubectl get {' '.join(args)} failed: {result.stderr}")
        return json.loads(result.stdout)

    def create(self, extra_flags: Sequence[str] = ()) -> float:
        """Create and start the cluster; return the seconds it took to become ready.

        ``extra_flags`` go to ``kwokctl create cluster`` as they are (for example
        ``--disable-qps-limits`` for the benchmarks).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "kwokctl.yaml").write_text(KWOKCTL_CONFIG)
        started = time.monotonic()
        b = self.binaries
        result = self.kwokctl(
            "create",
            "cluster",
            "--runtime",
            "binary",
            "--kubeconfig",
            str(self.kubeconfig),
            "--kube-apiserver-binary",
            str(b.path("kube-apiserver")),
            "--kube-controller-manager-binary",
            str(b.path("kube-controller-manager")),
            "--kube-scheduler-binary",
            str(b.path("kube-scheduler")),
            "--etcd-binary",
            str(b.path("etcd")),
            "--kwok-controller-binary",
            str(b.path("kwok")),
            "--wait",
            "120s",
            *extra_flags,
        )
        if result.returncode != 0:
            logs = self.component_logs()
            raise ClusterStartError(
                f"kwokctl create cluster failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{logs}"
            )
        return time.monotonic() - started

    def component_logs(self, tail_lines: int = 30) -> str:
        """The last lines of each component's log, for error reports."""
        parts = []
        for log in sorted((self.cluster_dir / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail_lines:]
            parts.append(f"--- {log.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def restart(self) -> None:
        """Stop every component (kube-apiserver included) and start them again.

        etcd's data survives, so objects and resourceVersions carry on: to a client this is
        an API server outage in the middle of its watches.
        """
        for verb in ("stop", "start"):
            result = self.kwokctl(verb, "cluster")
            if result.returncode != 0:
                raise RuntimeError(f"kwokctl {verb} cluster: {result.stdout}{result.stderr}")

    def etcd_revision(self) -> int:
        """etcd's current revision (what resourceVersions count), via its HTTP gateway."""
        return int(self._etcd("/v3/kv/range", {"key": "AA=="})["header"]["revision"])

    def compact_etcd(self) -> int:
        """Compact etcd's history up to now: older resourceVersions become 410 Gone."""
        revision = self.etcd_revision()
        self._etcd("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def _etcd(self, path: str, body: dict[str, Any]) -> Any:
        match = re.search(
            r"^\s*etcdPort: (\d+)$", (self.cluster_dir / "kwok.yaml").read_text(), re.M
        )
        if match is None:
            raise RuntimeError(f"no etcdPort in {self.cluster_dir / 'kwok.yaml'}")
        port = match.group(1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def delete(self) -> None:
        self.kwokctl("delete", "cluster", "--kubeconfig", str(self.kubeconfig), timeout=120)


def start_cluster(
    name: str = "atlhyper-test", workdir: Path | None = None, extra_flags: Sequence[str] = ()
) -> KwokCluster:
    """Build (or reuse) the binaries and start a cluster; raise ClusterStartError if not.

    ``extra_flags`` are passed through to ``kwokctl create cluster``.
    """
    binaries = ensure_binaries(quiet=True)
    base = workdir or Path(tempfile.mkdtemp(prefix="atlhyper-kwok-"))
    cluster = KwokCluster(name=name, binaries=binaries, workdir=base)
    cluster.create(extra_flags)
    return cluster
