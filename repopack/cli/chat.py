"""`repopack chat`: the Textual TUI (imported only when this command runs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from repopack.cli.app import cli
from repopack.cli.options import (
    base_url_option,
    budget_option,
    images_options,
    model_option,
    recording_options,
    ref_option,
)
from repopack.config import parse_budget


@cli.command("chat")
@click.argument("path", default=".", type=click.Path())
@model_option
@base_url_option
@budget_option("Tokens for the packed context (default: as for ask)")
@click.option("--resume", is_flag=True, help="Continue the last saved conversation about this repository.")
@recording_options
@images_options
@ref_option
def chat_command(path: str, model: str | None, base_url: str | None, budget: str | None, resume: bool,
                 record: str | None, replay: str | None, images: str | None, max_images: int | None,
                 ref: str | None) -> None:
    """Talk to a model about the repository at PATH (a directory or a git URL) in a terminal UI."""
    from repopack.cli.common import open_source, stderr_console
    from repopack.model.recording import RECORD_ENV, REPLAY_ENV, Recording
    from repopack.tui.factory import create_app

    path = open_source(path, ref, stderr_console())

    Recording.resolve(record, replay)  # a bad pair or a missing --replay directory fails before the UI starts
    app = create_app(path, model=model, base_url=base_url, budget=parse_budget(budget, model), resume=resume,
                     images=images, max_images=max_images)
    # The app resolves its client (again on a model switch) from the environment: scope the flags to it.
    with scoped_env({RECORD_ENV: record, REPLAY_ENV: replay} if record or replay else {}):
        saved = app.run()
    if saved is not None:
        click.echo(f"repopack: transcript saved to {saved}", err=True)


@contextmanager
def scoped_env(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the block, then put them back."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
