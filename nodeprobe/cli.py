"""`nodeprobe`: the per-node collector's entry point."""

from __future__ import annotations

import argparse

from nodeprobe import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodeprobe", description="Per-node metrics collector.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.parse_args(argv)
    parser.error("collection is not available in this version yet")
