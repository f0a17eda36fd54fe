"""Build, once, kube-state-metrics: the exporter of the stock Prometheus alerting path.

The alert latency benchmark compares AtlHyper with what most clusters run: kube-state-metrics
turning objects into metrics, Prometheus evaluating the kubernetes-mixin rules, Alertmanager
notifying. Like the control plane (``build.py``), kube-state-metrics is compiled from its Go
module (``k8s.io/kube-state-metrics/v2``) with the local toolchain and no cgo, never
downloaded as a prebuilt binary, and cached per version beside the control plane's binaries
so only the first run pays for the build. The release's own source (``go mod download`` of
the exact version) is built in a copy with its own go.mod and go.sum, so every dependency is
the one the release pins. (``go install module@version`` would do the same, but it also asks
the proxy for the module's version list, which the proxy here refuses.)

Run as ``python -m tests.kubeharness.kube_state_metrics``; it prints where the binary is
and how long the cold or warm path took.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.kubeharness.build import _go_env, _run, cache_directory

#: v2.18.0 is the newest release the Go module proxy serves here (v2.17.0 is not).
KSM_VERSION = "v2.18.0"
KSM_MODULE = "k8s.io/kube-state-metrics/v2"
#: Go packages built in parallel: the machine is shared, keep the build to two.
BUILD_PARALLELISM = "2"


def ksm_directory() -> Path:
    """Where this version's binary lives: beside the control plane's, same cache root."""
    return cache_directory().parent / f"kube-state-metrics-{KSM_VERSION}"


def _ldflags(revision: str) -> str:
    # The release's own Makefile stamps these; without them `kube-state-metrics version`
    # and the kube_state_metrics_build_info metric say nothing useful.
    stamps = {"Version": KSM_VERSION, "Revision": revision, "Branch": "release"}
    flags = ["-s", "-w"]
    flags += [f"-X github.com/prometheus/common/version.{k}={v}" for k, v in stamps.items()]
    return " ".join(flags)


@dataclass(frozen=True, slots=True)
class ModuleSource:
    """The release's source tree in the Go module cache, and the commit it was tagged at."""

    directory: Path
    revision: str


def module_source() -> ModuleSource:
    """Download the release's module (if the module cache lacks it) and say where it is."""
    answer = subprocess.run(
        ["go", "mod", "download", "-json", f"{KSM_MODULE}@{KSM_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
        env=_go_env(),
    )
    if answer.returncode != 0:
        what = f"go mod download {KSM_MODULE}@{KSM_VERSION}"
        raise RuntimeError(f"{what} failed: {answer.stdout}{answer.stderr}")
    document = json.loads(answer.stdout)
    revision = str(document.get("Origin", {}).get("Hash", "unknown"))
    return ModuleSource(Path(document["Dir"]), revision)


def ensure_kube_state_metrics(*, quiet: bool = False) -> Path:
    """Return the cached binary, building it first if it is missing (under a lock, once)."""
    started = time.monotonic()
    binary = ksm_directory() / "bin" / "kube-state-metrics"
    if os.access(binary, os.X_OK):
        if not quiet:
            elapsed = time.monotonic() - started
            print(f"kube-state-metrics: warm cache {binary} ({elapsed:.2f} s)")
        return binary
    if shutil.which("go") is None:
        raise RuntimeError("Go is needed to build kube-state-metrics; install Go >= 1.26")
    binary.parent.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel runs wait for one build
        if not os.access(binary, os.X_OK):
            staging = binary.parent.parent / "bin.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            source = staging / "src"
            release = module_source()
            shutil.copytree(release.directory, source)
            for folder, _, _ in os.walk(source):
                os.chmod(folder, 0o755)  # the module cache's copy is read-only
            command = ["go", "build", "-p", BUILD_PARALLELISM, "-trimpath"]
            command += [
                "-ldflags",
                _ldflags(release.revision),
                "-o",
                str(staging / "bin" / binary.name),
                ".",
            ]
            _run(command, cwd=source)
            shutil.rmtree(source)
            shutil.rmtree(binary.parent, ignore_errors=True)
            (staging / "bin").rename(binary.parent)
            shutil.rmtree(staging)
    elapsed = time.monotonic() - started
    print(f"kube-state-metrics: cold build into {binary.parent} ({elapsed:.1f} s)")
    return binary


def main() -> int:
    try:
        binary = ensure_kube_state_metrics()
    except (RuntimeError, OSError) as error:
        print(f"cannot build kube-state-metrics: {error}", file=sys.stderr)
        return 1
    print(f"binary: {binary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
