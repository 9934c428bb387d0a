"""Textual front end for repopack (installed as repopack.tui)."""
