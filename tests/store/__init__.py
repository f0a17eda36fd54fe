"""Unit tests of the history store (real SQLite files in tmp_path)."""
