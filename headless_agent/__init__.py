"""The AtlHyper engine: cluster access, state, anomaly detection, history, alerts, agent.

It runs in three places — inside the desktop app, on a jump host (headless mode) and in a
cluster (agent mode) — and never imports Qt. Sub-packages are grouped by concern; each
says in its docstring what it owns.
"""

__version__ = "0.1.0"
