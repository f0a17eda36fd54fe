"""nodeprobe: the per-node metrics collector that runs as a DaemonSet.

Small, few dependencies (psutil, prometheus_client), and independent of the engine and
of Qt (import-linter contracts in pyproject.toml). What lives where:

- `collectors/`: one module per subsystem, each a field table and a pure sample function;
- `registry`: runs them, keeps the previous readings, derives rates, disables failures;
- `rates`: the one rate helper (monotonic time, no spike after a reset or wrap);
- `model`: the plain data (fields, series, samples);
- `wire`: the versioned JSON batch and `parse_batch`, which the agent imports;
- `push`: the bounded buffer and the sender to the agent;
- `exposition`: ``/metrics`` through prometheus_client;
- `config` and `cli`: flags, environment variables and the ``nodeprobe`` command.
"""

__version__ = "0.1.0"
