"""`repopack undo`: put back exactly what the last `ask --apply` changed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from repopack.cli.app import cli
from repopack.cli.common import stderr_console
from repopack.packing.walk import resolve_root


@cli.command("undo")
@click.argument("path", default=".", type=click.Path())
@click.option("--force", is_flag=True, help="Also overwrite files that changed since the apply.")
def undo_command(path: str, force: bool) -> None:
    """Restore the files changed by the last apply in the repository at PATH, byte for byte.

    Prints the restored paths.  Undo uses only its own records (in the user data directory),
    never a journal inside the repository; with no record it exits with code 14.  A file that
    changed since the apply is not overwritten (exit 12, nothing undone) unless you say yes
    at the terminal or pass --force.
    """
    from repopack.chat.undo import undo_last

    def confirm(changed: Sequence[str]) -> bool:
        if force:
            return True
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            return False
        listed = ", ".join(changed)
        return click.confirm(f"{listed} changed since the apply; overwrite with the version from before it?",
                             default=False, err=True)

    root = resolve_root(path)
    restored = undo_last(root, confirm)
    for rel in restored:
        click.echo(rel)
    count = f"{len(restored)} file{'s' if len(restored) != 1 else ''}"
    stderr_console().print(f"Restored {count} from the last apply in {root}", markup=False, highlight=False)
