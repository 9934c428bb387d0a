"""`repopack undo`: put back exactly what the last `ask --apply` changed."""

from __future__ import annotations

import click

from repopack.cli.app import cli
from repopack.cli.common import stderr_console
from repopack.packing.walk import resolve_root


@cli.command("undo")
@click.argument("path", default=".", type=click.Path())
def undo_command(path: str) -> None:
    """Restore the files changed by the last apply in the repository at PATH, byte for byte.

    Prints the restored paths.  With nothing to undo it exits with code 14.
    """
    from repopack.chat.apply import undo_last  # detect-secrets loads with it: only `undo` pays for that

    root = resolve_root(path)
    restored = undo_last(root)
    for rel in restored:
        click.echo(rel)
    count = f"{len(restored)} file{'s' if len(restored) != 1 else ''}"
    stderr_console().print(f"Restored {count} from the last apply in {root}", markup=False, highlight=False)
