"""nodeprobe: the per-node metrics collector that runs as a DaemonSet.

Small, few dependencies (psutil), and independent of the engine and of Qt.
"""

__version__ = "0.1.0"
