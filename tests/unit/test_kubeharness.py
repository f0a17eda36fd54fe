"""The test control plane's build recipe stays in step with the pinned Kubernetes release."""

from __future__ import annotations

import re

from tests.kubeharness.build import GOMOD_DIR, kubernetes_gomod_text, staging_version


def _replaces(go_mod: str) -> set[str]:
    return set(re.findall(r"^\t(\S+ => \S+ \S+)$", go_mod, re.M))


def test_staging_version_follows_the_kubernetes_release() -> None:
    assert staging_version("v1.36.3") == "v0.36.3"


def test_wrapper_go_mod_replaces_every_staging_module_of_the_release() -> None:
    committed = (GOMOD_DIR / "kubernetes" / "go.mod").read_text()
    expected = _replaces(kubernetes_gomod_text())
    assert "k8s.io/client-go => k8s.io/client-go v0.36.3" in expected
    assert len(expected) > 25  # every staging module, not a handful
    assert _replaces(committed) == expected
