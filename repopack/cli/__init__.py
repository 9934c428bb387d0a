"""The repopack command line (thin: flags -> settings -> core -> exit codes)."""

from __future__ import annotations

from repopack.cli.app import main

__all__ = ["main"]
