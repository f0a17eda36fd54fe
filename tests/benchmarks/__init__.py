"""Benchmarks against the real control plane (run as modules, not collected by pytest)."""
