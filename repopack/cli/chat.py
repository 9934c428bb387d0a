"""`repopack chat`: the Textual TUI (imported only when this command runs)."""

from __future__ import annotations

import click

from repopack.cli.app import cli
from repopack.config import parse_budget


@cli.command("chat")
@click.argument("path", default=".", type=click.Path())
@click.option("--model", "-m", help="Model name (default $REPOPACK_MODEL or gpt-4.1).")
@click.option("--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL or api.openai.com).")
@click.option("--budget", "-b", help="Token budget for the packed context (e.g. 32k; default: the model's window).")
@click.option("--resume", is_flag=True, help="Continue the last saved conversation about this repository.")
def chat_command(path: str, model: str | None, base_url: str | None, budget: str | None, resume: bool) -> None:
    """Talk to a model about the repository at PATH in a terminal UI."""
    from repopack.tui.factory import create_app

    app = create_app(path, model=model, base_url=base_url, budget=parse_budget(budget, model), resume=resume)
    saved = app.run()
    if saved is not None:
        click.echo(f"repopack: transcript saved to {saved}", err=True)
