"""The wheel and the sdist: the engine and the probe install and run without Qt, for jump
hosts (`pipx install atlhyper`) and images; the desktop comes with the `desktop` extra."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging.conftest import Dists, Venv

pytestmark = pytest.mark.packaging

ALERTS = """\
[grouping]
group_wait = "30s"

[[channels]]
name = "hook"
type = "webhook"
url = "https://hooks.example.com/atlhyper"

[[rules]]
name = "critical"
channels = ["hook"]
severity = "critical"
"""


def test_the_wheel_carries_the_code_and_the_catalogs(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
    for language in ("en", "zh", "ja"):
        assert f"headless_agent/catalogs/{language}/atlhyper.po" in names
    assert {"nodeprobe/cli.py", "headless_agent/cli.py", "desktop/app.py"} <= names
    assert not any(name.startswith("tests/") for name in names)


def test_the_sdist_builds_what_the_wheel_holds(dists: Dists) -> None:
    # python -m build made the wheel from this sdist, so the sdist is complete enough.
    with tarfile.open(dists.sdist) as archive:
        names = set(archive.getnames())
    prefix = dists.sdist.name.removesuffix(".tar.gz")
    for path in ("pyproject.toml", "README.md", "i18n/zh/atlhyper.po", "build.spec"):
        assert f"{prefix}/{path}" in names


def test_the_wheel_installs_without_qt(wheel_venv: Venv) -> None:
    result = wheel_venv.run("python", "-c", "import PySide6")
    assert result.returncode != 0 and "No module named 'PySide6'" in result.stderr
    result = wheel_venv.run("python", "-c", "import pyqtgraph")
    assert result.returncode != 0


def test_headless_checks_an_alerts_file(wheel_venv: Venv, tmp_path: Path) -> None:
    good = tmp_path / "alerts.toml"
    good.write_text(ALERTS)
    result = wheel_venv.run("atlhyper-headless", "--alerts", str(good), "--check")
    assert result.returncode == 0, result.stderr
    assert "OK (1 rules, 1 channels)" in result.stdout
    # A mistake is reported with its line, in the installed package's own messages.
    bad = tmp_path / "bad.toml"
    bad.write_text(ALERTS.replace('severity = "critical"', 'severity = "fatal"'))
    result = wheel_venv.run("atlhyper-headless", "--alerts", str(bad), "--check")
    assert result.returncode == 2
    assert "line 12: rules[0].severity" in result.stderr, result.stderr


def test_the_agent_answers_help(wheel_venv: Venv) -> None:
    result = wheel_venv.run("atlhyper-agent", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: atlhyper-agent")


def test_nodeprobe_samples_this_host_once(wheel_venv: Venv) -> None:
    result = wheel_venv.run("nodeprobe", "--once")
    assert result.returncode == 0, result.stderr
    batch = json.loads(result.stdout)
    assert batch["schema_version"] == 1 and batch["probe_version"]


def test_the_catalogs_are_found_in_the_installed_package(wheel_venv: Venv) -> None:
    script = (
        "from headless_agent import i18n; "
        "print(i18n.catalog_dir()); print(i18n.translations('zh').gettext('tab.pods'))"
    )
    result = wheel_venv.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    folder, translated = result.stdout.splitlines()
    assert "site-packages" in folder and folder.endswith("catalogs")
    assert translated not in ("", "tab.pods")
