"""Console entry points of the engine: headless mode and the in-cluster agent."""

from __future__ import annotations

import argparse

from headless_agent import __version__


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def headless_main(argv: list[str] | None = None) -> int:
    """`atlhyper-headless`: the engine without a window, for a jump host."""
    parser = _parser("atlhyper-headless", "Watch clusters without a window and send alerts.")
    parser.parse_args(argv)
    parser.error("headless mode is not available in this version yet")


def agent_main(argv: list[str] | None = None) -> int:
    """`atlhyper-agent`: the engine inside a cluster, serving a hub."""
    parser = _parser("atlhyper-agent", "Collect, buffer and relay a cluster's state to a hub.")
    parser.parse_args(argv)
    parser.error("agent mode is not available in this version yet")
