"""The repopack command line (thin: flags -> settings -> core -> exit codes)."""

from __future__ import annotations


def main() -> None:  # replaced below once commands exist
    from repopack.cli.app import main as _main

    _main()
