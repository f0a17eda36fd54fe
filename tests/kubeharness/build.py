"""Build, once, the binaries of the real Kubernetes control plane the tests run against.

kube-apiserver, kube-controller-manager, kube-scheduler and kubectl come from the
``k8s.io/kubernetes`` Go module through the wrapper module in ``gomod/kubernetes``; etcd
from ``go.etcd.io/etcd/server/v3`` through ``gomod/etcd``; kwok and kwokctl by ``go
install``. Nothing is downloaded as a prebuilt binary: everything is compiled from the Go
module proxy with the local toolchain, then cached per version in the user's cache
directory so only the first run pays for the build.

Run as ``python -m tests.kubeharness.build`` (the test command does); it prints where the
binaries are and how long the cold or warm path took. ``--regenerate`` rewrites the
wrapper's go.mod from the kubernetes module's own go.mod.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

KUBERNETES_VERSION = "v1.36.3"
KWOK_VERSION = "v0.8.0"
GOMOD_DIR = Path(__file__).parent / "gomod"
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
KWOK_COMMANDS = ("kwok", "kwokctl")


def etcd_version() -> str:
    """The etcd release the etcd wrapper module requires (its go.mod is the one truth)."""
    text = (GOMOD_DIR / "etcd" / "go.mod").read_text()
    match = re.search(r"go\.etcd\.io/etcd/server/v3 (v\S+)", text)
    if not match:
        raise RuntimeError("gomod/etcd/go.mod does not require go.etcd.io/etcd/server/v3")
    return match.group(1)


def staging_version(kubernetes_version: str) -> str:
    """The staging modules' release matching a Kubernetes release: v1.36.3 -> v0.36.3."""
    major, minor, patch = kubernetes_version.lstrip("v").split(".")
    if major != "1":
        raise ValueError(f"unexpected Kubernetes version {kubernetes_version}")
    return f"v0.{minor}.{patch}"


@dataclass(frozen=True, slots=True)
class ControlPlaneBinaries:
    """Paths of every binary kwokctl needs to start a cluster without downloading anything."""

    directory: Path

    def path(self, command: str) -> Path:
        return self.directory / command

    @property
    def all_present(self) -> bool:
        commands = (*KUBERNETES_COMMANDS, "etcd", *KWOK_COMMANDS)
        return all(os.access(self.path(c), os.X_OK) for c in commands)


def cache_directory() -> Path:
    """Per-version cache directory; ATLHYPER_KUBE_CACHE overrides the platform default."""
    base = os.environ.get("ATLHYPER_KUBE_CACHE") or platformdirs.user_cache_dir("atlhyper")
    key = f"k8s-{KUBERNETES_VERSION}_etcd-{etcd_version()}_kwok-{KWOK_VERSION}"
    return Path(base) / "kube" / key


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # The local toolchain, no cgo: static binaries that run on any Linux here, and no
    # toolchain download (which this network would refuse).
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0")
    return env


def _version_ldflags(version: str) -> str:
    major, minor, _ = version.lstrip("v").split(".")
    flags = ["-s", "-w"]
    # Without these stamps /version answers v0.0.0, which confuses clients and kwokctl.
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, env=env or _go_env(), check=False)
    if result.returncode != 0:
        raise RuntimeError(f"command failed with exit code {result.returncode}: {command}")


def _build_into(staging: Path) -> None:
    packages = [f"k8s.io/kubernetes/cmd/{c}" for c in KUBERNETES_COMMANDS]
    ldflags = _version_ldflags(KUBERNETES_VERSION)
    _run(
        ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", f"{staging}/", *packages],
        cwd=GOMOD_DIR / "kubernetes",
    )
    _run(
        ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(staging / "etcd"), "."],
        cwd=GOMOD_DIR / "etcd",
    )
    env = _go_env() | {"GOBIN": str(staging)}
    kwok_packages = [f"sigs.k8s.io/kwok/cmd/{c}@{KWOK_VERSION}" for c in KWOK_COMMANDS]
    _run(["go", "install", "-trimpath", *kwok_packages], cwd=staging, env=env)


def ensure_binaries(*, quiet: bool = False) -> ControlPlaneBinaries:
    """Return the cached binaries, building the ones missing (under a lock, once)."""
    started = time.monotonic()
    binaries = ControlPlaneBinaries(cache_directory() / "bin")
    if binaries.all_present:
        if not quiet:
            elapsed = time.monotonic() - started
            print(f"control plane binaries: warm cache {binaries.directory} ({elapsed:.2f} s)")
        return binaries
    if shutil.which("go") is None:
        raise RuntimeError("Go is needed to build the test control plane; install Go >= 1.26")
    binaries.directory.parent.mkdir(parents=True, exist_ok=True)
    with open(binaries.directory.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs wait for one build
        if not binaries.all_present:
            staging = binaries.directory.parent / "bin.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            _build_into(staging)
            shutil.rmtree(binaries.directory, ignore_errors=True)
            staging.rename(binaries.directory)
    elapsed = time.monotonic() - started
    print(f"control plane binaries: cold build into {binaries.directory} ({elapsed:.1f} s)")
    return binaries


def kubernetes_gomod_text(version: str = KUBERNETES_VERSION) -> str:
    """The wrapper go.mod for a Kubernetes release, derived from that release's go.mod.

    Every staging module the release requires at v0.0.0 (it replaces them with local
    directories in its own repository) gets a replace to its published v0.<minor>.<patch>.
    """
    info = subprocess.run(
        ["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
        capture_output=True,
        text=True,
        check=True,
        env=_go_env(),
    )
    upstream = Path(json.loads(info.stdout)["GoMod"]).read_text()
    staged = sorted(set(re.findall(r"^\s+(k8s\.io/[\w.-]+) v0\.0\.0$", upstream, re.M)))
    target = staging_version(version)
    go_directive = re.search(r"^go (\S+)$", upstream, re.M)
    lines = [
        "// Wrapper module that builds the Kubernetes control plane for AtlHyper's tests.",
        f"// Generated by tests/kubeharness/build.py from k8s.io/kubernetes {version}'s",
        "// go.mod: one replace per staging module (the requires at v0.0.0) pointing at",
        "// its published release.",
        "module atlhyper.test/kubernetes",
        "",
        f"go {go_directive.group(1) if go_directive else '1.26.0'}",
        "",
        f"require k8s.io/kubernetes {version}",
        "",
        "replace (",
        *[f"\t{module} => {module} {target}" for module in staged],
        ")",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--regenerate", action="store_true", help="rewrite gomod/kubernetes/go.mod and tidy it"
    )
    args = parser.parse_args(argv)
    if args.regenerate:
        module_dir = GOMOD_DIR / "kubernetes"
        (module_dir / "go.mod").write_text(kubernetes_gomod_text())
        _run(["go", "mod", "tidy"], cwd=module_dir)
        return 0
    try:
        binaries = ensure_binaries()
    except (RuntimeError, OSError) as error:
        print(f"cannot build the test control plane: {error}", file=sys.stderr)
        return 1
    print(f"binaries in {binaries.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
