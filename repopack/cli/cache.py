"""`repopack cache info` / `repopack cache clear`: where the cache is, how big, and emptying it."""

from __future__ import annotations

import click

from repopack.cli.app import cli
from repopack.config import load_settings
from repopack.packing.cache import cache_info, clear_cache


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


@cli.group("cache")
def cache_group() -> None:
    """The on-disk cache of token counts, parses, scans and snapshots (REPOPACK_CACHE_DIR)."""


@cache_group.command("info")
def info_command() -> None:
    """Print the cache's location, size (against its cap) and entries by kind."""
    settings = load_settings(None)
    info = cache_info(max_bytes=settings.cache_max)
    click.echo(f"location  {info.location}")
    click.echo(f"size      {human_bytes(info.size)} (cap {human_bytes(info.max_bytes)}; "
               "set cache_max or REPOPACK_CACHE_MAX)")
    click.echo(f"entries   {info.entries:,}")
    for kind, count, size in info.by_kind:
        click.echo(f"  {kind:<14} {count:>9,}  {human_bytes(size):>9}")


@cache_group.command("clear")
def clear_command() -> None:
    """Delete everything in the cache (it is rebuilt as needed)."""
    info = cache_info()
    freed = clear_cache()
    click.echo(f"cleared {info.location}: {human_bytes(freed)} freed")
