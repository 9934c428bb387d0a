"""`repopack map`: the repository map (one line per definition, files by rank, within a budget)."""

from __future__ import annotations

import click

from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, guarded, open_source, settings_for, stderr_console
from repopack.cli.options import budget_option, no_cache_option, ref_option
from repopack.config import parse_budget
from repopack.packing.repomap import repo_map
from repopack.util.output import write_output


@cli.command("map")
@click.argument("path", default=".", type=click.Path())
@budget_option("At most this many tokens; the most central files and definitions come first")
@click.option("-o", "--output", default="-", help="Output file (default stdout).")
@no_cache_option
@ref_option
def map_command(path: str, budget: str | None, output: str, no_cache: bool, ref: str | None) -> None:
    """Print the map of the repository at PATH (a directory or a git URL): one line per definition, most
    central files first."""
    path = open_source(path, ref, stderr_console())
    root, settings = settings_for(path, {"cache": False if no_cache else None})
    progress = LazyProgress(stderr_console())
    text = guarded(lambda: repo_map(root, settings, parse_budget(budget), progress), progress)
    write_output(text, output)
