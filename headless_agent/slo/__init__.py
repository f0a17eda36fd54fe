"""SLOs from ingress metrics: availability, latency percentiles, error budgets and
multi-window, multi-burn-rate alerts, per Ingress host and path (see docs/SLO.md).

- `exposition`, `controllers`: /metrics text → request counters and latency buckets of
  ingress-nginx and Traefik;
- `scraping`, `collector`: controllers found by their labels and read through the API
  server's pod proxy; increases booked per minute and target into the history store;
- `prometheus_source`: the same minutes from a Prometheus server's query API;
- `ingress_mapping`: series → Ingress objects, hosts, paths and services;
- `increases`, `quantile`: counter increases with resets, ``histogram_quantile``;
- `objectives`, `burn_rates`: ``[[slos]]`` settings, budgets, the burn-rate tables;
- `status`: what a view shows (windows 1 h … 30 d, burn-rate series);
- `alerting`: burn-rate and no-data alerts into the alert dispatcher.
"""

from __future__ import annotations

from headless_agent.slo.alerting import SloAlerts
from headless_agent.slo.burn_rates import PYRRA_28D, WORKBOOK_30D, BurnTier
from headless_agent.slo.collector import SloCollector
from headless_agent.slo.objectives import Objective, parse_objective
from headless_agent.slo.quantile import histogram_quantile
from headless_agent.slo.scraping import ControllerSelector
from headless_agent.slo.status import (
    ObjectiveStatus,
    WindowStatus,
    burn_rate_series,
    objective_status,
    target_status,
)

__all__ = [
    "PYRRA_28D",
    "WORKBOOK_30D",
    "BurnTier",
    "ControllerSelector",
    "Objective",
    "ObjectiveStatus",
    "SloAlerts",
    "SloCollector",
    "WindowStatus",
    "burn_rate_series",
    "histogram_quantile",
    "objective_status",
    "parse_objective",
    "target_status",
]
