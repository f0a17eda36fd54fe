"""The desktop head: PySide6 widgets, view models and charts over the engine.

Nothing here calls Kubernetes or SQL: every read goes through the engine's Hub, every
command through ``Hub.command()`` (an import contract in pyproject.toml enforces it).
"""
