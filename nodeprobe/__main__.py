"""``python -m nodeprobe``: the same as the ``nodeprobe`` command."""

from nodeprobe.cli import main

raise SystemExit(main())
