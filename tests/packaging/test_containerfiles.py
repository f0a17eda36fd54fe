"""The container files of the agent and the probe, read as Docker reads them: multi-stage,
a slim base, nothing to build with and no root in the final stage, and the version stamped
in (checked at build time, labelled, and the same as the package's and the manifests').

Where a Docker daemon can reach the base image, `docker build` runs them for real (see
docs/PACKAGING.md); this test needs neither."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.packaging.building import REPO

CONTAINERFILES = {
    "agent": REPO / "resources" / "agent" / "Containerfile",
    "nodeprobe": REPO / "resources" / "nodeprobe" / "Containerfile",
}
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|cc|clang|make|build-essential|python3?-dev|apt-get|apk|pip install)\b"
)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined and comments
    dropped (Dockerfile syntax)."""
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        ),
    )
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, value = line.strip().partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            parts = value.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, value))
        elif keyword == "ARG":
            key, _, default = value.partition("=")
            global_args[key] = default
    return global_args, stages


def _package_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("image", sorted(CONTAINERFILES))
def test_the_image_is_multi_stage_slim_and_non_root(image: str) -> None:
    global_args, stages = parse(CONTAINERFILES[image])
    assert len(stages) >= 2 and stages[0].name == "build"
    bases = {
        global_args.get(s.base[2:-1], s.base) if s.base.startswith("${") else s.base for s in stages
    }
    assert all(re.fullmatch(r"python:3\.\d+-slim-\w+", base) for base in bases), bases
    final = stages[-1]
    users = final.values("USER")
    assert users, "the final stage sets no USER (it would run as root)"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]
    # The final stage only copies what the build stage made: no compiler, no package
    # manager, no pip.
    assert final.values("RUN") == [] or not any(
        BUILD_TOOLS.search(run) for run in final.values("RUN")
    )
    assert any(v.startswith("--from=build ") for v in final.values("COPY"))
    assert final.values("ENTRYPOINT")


@pytest.mark.parametrize("image", sorted(CONTAINERFILES))
def test_the_version_is_stamped_in(image: str) -> None:
    _, stages = parse(CONTAINERFILES[image])
    version = _package_version()
    for stage in (stages[0], stages[-1]):
        assert f"VERSION={version}" in stage.values("ARG"), stage.name
    # The build stage fails when the code's own version is another one.
    assert any("${VERSION}" in run for run in stages[0].values("RUN"))
    labels = " ".join(stages[-1].values("LABEL"))
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert "org.opencontainers.image.title=" in labels


def test_the_manifests_ask_for_the_images_of_this_version() -> None:
    version = _package_version()
    resources = REPO / "resources"
    deployment = yaml.safe_load((resources / "agent" / "base" / "deployment.yaml").read_text())
    daemonset = yaml.safe_load((resources / "nodeprobe" / "daemonset.yaml").read_text())
    for manifest in (deployment, daemonset):
        [container] = manifest["spec"]["template"]["spec"]["containers"]
        assert container["image"].endswith(f":{version}")
        assert manifest["metadata"]["labels"]["app.kubernetes.io/version"] == version
