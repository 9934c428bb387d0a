"""`repopack rank`: the files a question needs, best first."""

from __future__ import annotations

import json

import click

from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, guarded, open_source, read_query, settings_for, stderr_console
from repopack.cli.options import diff_option, focus_option, no_cache_option, query_options, ref_option
from repopack.errors import UsageError
from repopack.packing.pipeline import rank_repo
from repopack.packing.rank import Signals


@cli.command("rank")
@click.argument("path", default=".", type=click.Path())
@query_options
@focus_option
@diff_option
@click.option("--limit", type=click.IntRange(min=1), help="Print at most this many files.")
@click.option("--json", "as_json", is_flag=True, help='Print [{"path", "score", "signals"}, ...].')
@no_cache_option
@ref_option
def rank_command(path: str, query: str | None, query_file: str | None, focus: tuple[str, ...],
                 diff_base: str | None, limit: int | None, as_json: bool, no_cache: bool, ref: str | None) -> None:
    """Rank the files of the repository at PATH (a directory or a git URL) for a question."""
    text = read_query(query, query_file)
    if not text and not focus and not diff_base:
        raise UsageError("rank needs --query, --query-file, --focus or --diff")
    path = open_source(path, ref, stderr_console())
    root, settings = settings_for(path, {"cache": False if no_cache else None})
    progress = LazyProgress(stderr_console())
    ranking = guarded(lambda: rank_repo(root, settings, Signals(query=text, focus=focus), diff_base, progress),
                      progress)
    if limit:
        ranking = ranking[:limit]
    if as_json:
        click.echo(json.dumps([{"path": r.path, "score": round(r.score, 6),
                                "signals": {k: round(v, 4) for k, v in r.signals.items()}} for r in ranking]))
    else:
        for r in ranking:
            click.echo(r.path)
