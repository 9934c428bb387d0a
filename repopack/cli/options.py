"""Options shared by several commands, declared once so their names, short forms and help agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from repopack.choices import Images, values
from repopack.config import DEFAULT_MODEL

F = TypeVar("F", bound=Callable[..., Any])

BUDGET_SYNTAX = "tokens, e.g. 20000, 32k or 1.5m"


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(fn: F) -> F:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


model_option = click.option(
    "--model", "-m", help=f"Model name (default: REPOPACK_MODEL, the user config, else {DEFAULT_MODEL}); "
                          "see `repopack models`.")
base_url_option = click.option(
    "--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL, else api.openai.com).")
no_cache_option = click.option("--no-cache", is_flag=True, help="Neither read nor write the on-disk cache.")
focus_option = click.option("--focus", multiple=True, help="A file that matters most (repeatable).")
diff_option = click.option(
    "--diff", "diff_base", help="Rank for the changes since this git ref (HEAD: uncommitted changes).")
encoding_option = click.option(
    "--encoding", help="tiktoken encoding (default o200k_base; offline fallback cl100k_base).")
query_options = _compose(
    click.option("--query", "-q", help="The question or task; files are ranked for it."),
    click.option("--query-file", type=click.Path(dir_okay=False), help="Read the query from this file."),
)
model_options = _compose(model_option, base_url_option)
images_options = _compose(
    click.option("--images", type=click.Choice(values(Images)),
                 help="Images for models that accept them: auto (default: when the question asks for "
                      "screenshots, diagrams, … or names an image), none, or all."),
    click.option("--max-images", type=click.IntRange(min=0), help="At most this many images (default 8)."),
)


def budget_option(what: str) -> Callable[[F], F]:
    """--budget/-b; `what` says what the budget covers and its default for this command."""
    return click.option("--budget", "-b", help=f"{what} ({BUDGET_SYNTAX}).")
max_cost_option = click.option(
    "--max-cost", type=float, metavar="USD",
    help="Ask (on a terminal) or refuse (otherwise) before a model call estimated above this (default 0.25).")
recording_options = _compose(
    click.option("--record", type=click.Path(file_okay=False), metavar="DIR",
                 help="Store every model reply in DIR, keyed by a hash of the request, for --replay "
                      "(default: REPOPACK_RECORD)."),
    click.option("--replay", type=click.Path(file_okay=False), metavar="DIR",
                 help="Answer every model request from the recordings in DIR; nothing is sent "
                      "(default: REPOPACK_REPLAY)."),
)
ref_option = click.option(
    "--ref", help="Branch, tag or commit of a remote PATH (a git URL or github:OWNER/REPO; default: its HEAD).")
