"""`repopack tokens`: where the tokens of a pack go, as a tree with directory totals."""

from __future__ import annotations

import json
from collections import defaultdict

import click

from repopack.choices import Format, values
from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, guarded, open_source, settings_for, stderr_console
from repopack.cli.options import no_cache_option
from repopack.config import Settings
from repopack.packing.pipeline import pack_repo
from repopack.packing.tokenmap import TokenMap, token_map


@cli.command("tokens")
@click.argument("path", default=".", type=click.Path())
@click.option("--min", "min_tokens", type=click.IntRange(min=0), default=0,
              help="Hide files and directories with fewer tokens (they still count in the totals).")
@click.option("--depth", type=click.IntRange(min=1), help="Show directories this many levels deep, no deeper.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option("--top", type=click.IntRange(min=0), default=10, help="How many of the largest files to list.")
@click.option("--format", "fmt", type=click.Choice(values(Format)), help="Count for this output format (default xml).")
@click.option("--include", multiple=True, help="Only files matching this glob (repeatable).")
@click.option("--exclude", multiple=True, help="Leave out files matching this glob (repeatable).")
@click.option("--encoding", help="tiktoken encoding (default o200k_base).")
@click.option("--line-numbers/--no-line-numbers", default=None, help="Count with line numbers, as pack would.")
@click.option("--ref", help="Branch, tag or commit of a remote PATH.")
@no_cache_option
def tokens_command(path: str, min_tokens: int, depth: int | None, as_json: bool, top: int, fmt: str | None,
                   include: tuple[str, ...], exclude: tuple[str, ...], encoding: str | None,
                   line_numbers: bool | None, ref: str | None, no_cache: bool) -> None:
    """The token-count tree of what `repopack pack PATH` would pack: per file, per directory, in total.

    Each file counts what its block costs in the prompt; the header and directory tree are one
    more line, so the numbers add up to the pack's total.
    """
    console = stderr_console()
    path = open_source(path, ref, console)
    flags = {"format": fmt, "include": include, "exclude": exclude, "encoding": encoding,
             "line_numbers": line_numbers, "cache": False if no_cache else None}
    root, settings = settings_for(path, flags)
    settings = _whole(settings)
    progress = LazyProgress(console)
    result = guarded(lambda: pack_repo(root, settings, None, progress), progress)
    tmap = token_map(result.packed, result.tokenizer)
    if result.tokenizer.note:
        console.print(f"note: {result.tokenizer.note}", markup=False, highlight=False)
    if as_json:
        click.echo(json.dumps(_as_json(tmap, depth, min_tokens, top, root.name), indent=2))
        return
    for line in tree_lines(tmap, root.name, min_tokens, depth):
        click.echo(line)
    largest = sorted(tmap.files.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    if largest:
        click.echo("Largest: " + ", ".join(f"{p} ({n:,})" for p, n in largest))


def _whole(settings: Settings) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, budget=None)  # the map is of the whole pack


def tree_lines(tmap: TokenMap, name: str, min_tokens: int = 0, depth: int | None = None) -> list[str]:
    """'name/ 12,345 tokens' then each directory and file, biggest first, indented by level."""
    children: dict[str, dict[str, int]] = defaultdict(dict)  # dir ('' = root) -> entry -> tokens
    dirs = tmap.directories(depth)
    for d, n in dirs.items():
        parent = d[:-1].rpartition("/")[0]
        children[parent + "/" if parent else ""][d] = n
    for path, n in tmap.files.items():
        parent = path.rpartition("/")[0]
        while parent and parent + "/" not in dirs:  # deeper than --depth: counted in the ancestor shown
            parent = parent.rpartition("/")[0]
        if parent and path.count("/") > parent.count("/") + 1:
            continue
        children[parent + "/" if parent else ""][path] = n
    lines = [f"{name}/ {tmap.total:,} tokens ({tmap.encoding})", f"  (header, tree, footer) {tmap.overhead:,}"]

    def visit(d: str, level: int) -> None:
        entries = sorted(children.get(d, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        hidden = [(e, n) for e, n in entries if n < min_tokens]
        for entry, n in entries:
            if n < min_tokens:
                continue
            label = entry[len(d):]
            lines.append(f"{'  ' * level}{label} {n:,}")
            if entry.endswith("/"):
                visit(entry, level + 1)
        if hidden:
            lines.append(f"{'  ' * level}… {len(hidden)} smaller ({sum(n for _, n in hidden):,} tokens)")

    visit("", 1)
    return lines


def _as_json(tmap: TokenMap, depth: int | None, min_tokens: int, top: int, name: str) -> dict[str, object]:
    return {
        "repository": name,
        "encoding": tmap.encoding,
        "total": tmap.total,
        "overhead": tmap.overhead,
        "directories": {d: n for d, n in sorted(tmap.directories(depth).items()) if n >= min_tokens},
        "files": {p: {"tokens": n, "content_tokens": tmap.content[p]} for p, n in sorted(tmap.files.items())
                  if n >= min_tokens},
        "largest": [{"path": p, "tokens": n}
                    for p, n in sorted(tmap.files.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
    }
