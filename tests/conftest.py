"""Fixtures shared by every test: the real control plane, and a guard that cluster tests run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.kubeharness.cluster import KwokCluster, start_cluster

LOG_CRDS = ("--enable-crds=ClusterLogs,Logs,ClusterExec,Exec",)


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KwokCluster]:
    """A real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok).

    If it cannot start, every test that needs it fails with kwokctl's reason: a missing
    cluster is a broken test environment, never a reason to skip.
    """
    try:
        # kwok serves container logs from files the tests write, and runs exec locally.
        cluster = start_cluster(workdir=tmp_path_factory.mktemp("kwok"), extra_flags=LOG_CRDS)
    except Exception as error:  # any failure must surface as the reason, not a traceback
        pytest.fail(f"the test control plane could not start: {error}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.delete()


@pytest.fixture(autouse=True)
def private_user_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's settings, alert rules and history default to the user's folders: in
    tests they are fresh ones, so no test reads or changes what a person keeps there."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped cluster test is a failure: those tests must always run there."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and item.get_closest_marker("cluster"):
        report.outcome = "failed"
        report.longrepr = f"cluster test skipped in CI: {report.longrepr}"
