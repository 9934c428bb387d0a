"""`repopack mcp`: serve pack, read_pack, grep_pack, rank, map and explain over MCP."""

from __future__ import annotations

from pathlib import Path

import click

from repopack.cli.app import cli
from repopack.errors import UsageError
from repopack.mcp.pages import DEFAULT_PAGE_TOKENS, MAX_PAGE_TOKENS


@cli.command("mcp")
@click.option("--http", "port", type=click.IntRange(min=1, max=65535), metavar="PORT",
              help="Serve streamable HTTP on 127.0.0.1:PORT (at /mcp) instead of stdio.")
@click.option("--allow", "allowed", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A directory whose repositories the tools may read (repeatable; default: the current one).")
@click.option("--page-tokens", type=click.IntRange(min=1000, max=MAX_PAGE_TOKENS), default=DEFAULT_PAGE_TOKENS,
              show_default=True, help="At most this many tokens per page of a pack.")
def mcp_command(port: int | None, allowed: tuple[str, ...], page_tokens: int) -> None:
    """Run an MCP server over stdio (default) or streamable HTTP on loopback.

    Tools: pack (a local path or a git URL / github:OWNER/REPO), read_pack, grep_pack, rank,
    map, explain.  Secrets are always redacted; local paths outside the allowed directories
    are refused.
    """
    try:
        from repopack.mcp.server import ServerConfig, build_server
    except ImportError as exc:  # pragma: no cover - mcp is a dependency
        raise UsageError(f"repopack mcp needs the mcp package: {exc}") from None
    roots = tuple(Path(p).resolve() for p in allowed) or (Path.cwd().resolve(),)
    server = build_server(ServerConfig(roots, page_tokens))
    if port is None:
        server.run("stdio")
    else:
        click.echo(f"repopack: MCP over streamable HTTP on http://127.0.0.1:{port}/mcp", err=True)
        server.run("streamable-http", host="127.0.0.1", port=port)
