"""`repopack chat`: the Textual TUI (imported only when this command runs)."""

from __future__ import annotations

import click

from repopack.cli.app import cli
from repopack.cli.options import base_url_option, budget_option, model_option
from repopack.config import parse_budget


@cli.command("chat")
@click.argument("path", default=".", type=click.Path())
@model_option
@base_url_option
@budget_option("Tokens for the packed context (default: as for ask)")
@click.option("--resume", is_flag=True, help="Continue the last saved conversation about this repository.")
def chat_command(path: str, model: str | None, base_url: str | None, budget: str | None, resume: bool) -> None:
    """Talk to a model about the repository at PATH in a terminal UI."""
    from repopack.tui.factory import create_app

    app = create_app(path, model=model, base_url=base_url, budget=parse_budget(budget, model), resume=resume)
    saved = app.run()
    if saved is not None:
        click.echo(f"repopack: transcript saved to {saved}", err=True)
