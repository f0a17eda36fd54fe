"""Where SLO minutes come from, in the settings file: ingress controllers the usual labels
do not find, and clusters read from an existing Prometheus instead — every mistake with its
line, and edits applied while running."""

from __future__ import annotations

from pathlib import Path

import pytest

from headless_agent.alerts import Alerting
from headless_agent.alerts.config import ConfigProblems, load_config
from headless_agent.hub import Hub
from headless_agent.slo.scraping import DEFAULT_SELECTORS
from headless_agent.store import HistoryStore

GOOD = """
[[slo_controllers]]
format = "ingress-nginx"
labels = { app = "edge-ingress" }
port = 10254
namespace = "edge"

[[slo_prometheus]]
url = "http://prometheus.monitoring:9090"
clusters = ["prod-eu", "prod-us"]
"""

BAD = """
[[slo_controllers]]
format = "haproxy"
labels = "app=x"
port = 70000

[[slo_prometheus]]
url = "prometheus:9090"
clusters = ["prod"]
"""


def test_extra_controllers_and_a_prometheus_server_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(GOOD)
    config = load_config(path, environ={})
    [selector] = config.slo_controllers
    assert (selector.format, selector.labels, selector.port, selector.namespace) == (
        "ingress-nginx", (("app", "edge-ingress"),), 10254, "edge",
    )  # fmt: skip
    assert config.slo_prometheus == {
        "prod-eu": "http://prometheus.monitoring:9090",
        "prod-us": "http://prometheus.monitoring:9090",
    }
    alerting = Alerting(config, HistoryStore.open(tmp_path / "h.sqlite3", start=False))
    alerting.attach(Hub())
    collector = alerting.slo_collector
    assert collector.selectors == (*DEFAULT_SELECTORS, selector)
    assert collector.prometheus["prod-eu"].url == "http://prometheus.monitoring:9090"
    # Edited settings reach the collector without a restart.
    path.write_text("")
    alerting.reconfigure(load_config(path, environ={}))
    assert collector.selectors == DEFAULT_SELECTORS and collector.prometheus == {}


def test_every_mistake_in_them_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(BAD)
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [
        "line 3: slo_controllers[0].format: one of ingress-nginx, traefik",
        'line 4: slo_controllers[0].labels: a table such as { app = "my-ingress" }',
        "line 5: slo_controllers[0].port: a port number or name",
        "line 8: slo_prometheus[0].url: an http:// or https:// URL",
    ]
