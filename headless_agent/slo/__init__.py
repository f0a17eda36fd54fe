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

Import the modules themselves: the package re-exports nothing, so that its small parts
(the objectives, which the demo uses) load without the collector and, with it, the hub.
"""
