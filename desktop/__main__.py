"""`python -m desktop` (and the packaged app's entry point)."""

from desktop.app import main

raise SystemExit(main())
