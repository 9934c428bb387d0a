"""`repopack review`: an LLM review of a pull request (GitHub) or of local changes (--base)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from repopack.chat.session import Session
from repopack.choices import Severity, values
from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, guarded, settings_for, stderr_console, terminal_cost_confirm
from repopack.cli.options import (
    base_url_option,
    budget_option,
    max_cost_option,
    model_option,
    no_cache_option,
    recording_options,
)
from repopack.config import parse_budget
from repopack.errors import RepopackError, UsageError
from repopack.model.client import ClientConfig
from repopack.review.findings import diff_from_patches
from repopack.review.github import GitHubClient, GitHubSettings
from repopack.review.report import post_review, render_json, render_markdown, render_sarif
from repopack.review.run import ReviewResult, ReviewTarget, git_head, local_target, run_review
from repopack.util.output import write_output

OUTPUTS = ("md", "json", "sarif")


@cli.command("review")
@click.argument("path", default=".", type=click.Path())
@click.option("--pr", "pr", type=click.IntRange(min=1), help="Review this GitHub pull request (needs GITHUB_REPOSITORY "
              "and GITHUB_TOKEN; GITHUB_API_URL for Enterprise).")
@click.option("--repo", help="owner/name of the pull request's repository (default $GITHUB_REPOSITORY).")
@click.option("--base", help="Review local changes since this git ref (from its merge base).")
@click.option("--head", help="With --base: review up to this ref instead of the work tree.")
@click.option("--no-post", is_flag=True, help="With --pr: print the review instead of posting it.")
@click.option("--output", "output_format", type=click.Choice(OUTPUTS), help="Print the review as Markdown, JSON or "
              "SARIF (default md when nothing is posted).")
@click.option("--output-file", help="Write the --output to this file instead of stdout.")
@click.option("--fail-on", type=click.Choice((*values(Severity), "never")), default="never", show_default=True,
              help="Exit 1 when a finding has this severity or worse.")
@budget_option("Tokens for the diff plus repository context (default: what the model's window leaves)")
@model_option
@base_url_option
@no_cache_option
@max_cost_option
@recording_options
def review_command(path: str, pr: int | None, repo: str | None, base: str | None, head: str | None, no_post: bool,
                   output_format: str | None, output_file: str | None, fail_on: str, budget: str | None,
                   model: str | None, base_url: str | None, no_cache: bool, max_cost: float | None, record: str | None,
                   replay: str | None) -> None:
    """Review a pull request (--pr N) or local changes (--base REF) with the repository as context."""
    if (pr is None) == (base is None):
        raise UsageError("give --pr N (a GitHub pull request) or --base REF (local changes), not both or neither")
    if head is not None and base is None:
        raise UsageError("--head needs --base")
    if output_file and not output_format:
        raise UsageError("--output-file needs --output md|json|sarif")
    flags = {"budget": parse_budget(budget, model), "model": model, "base_url": base_url, "max_cost": max_cost,
             "cache": False if no_cache else None}
    root, settings = settings_for(path, flags)
    console = stderr_console()
    progress = LazyProgress(console)

    def notice(message: str) -> None:
        console.print(f"[yellow]note:[/] {message}", markup=True, highlight=False)

    def model_config() -> ClientConfig:  # before any GitHub request or packing
        return ClientConfig.resolve(base_url=settings.base_url, model=settings.model, timeout=settings.timeout,
                                    record=record, replay=replay)

    if pr is not None:
        post = not no_post
        gh = GitHubSettings.from_env(repo, require_token=post)
        config = model_config()
        with GitHubClient(gh) as client:
            pull = client.pull_request(pr)
            files = client.pull_files(pr)
            diff = diff_from_patches([(f.path, f.status, f.patch, f.previous_path) for f in files])
            target = ReviewTarget(pull.title, pull.body, diff, pull.base_sha, pull.head_sha, pr=pr, url=pull.html_url)
            checked_out = git_head(root)
            if checked_out and checked_out != pull.head_sha:
                notice(f"the checkout is at {checked_out[:12]}, not the PR head {pull.head_sha[:12]}: file contents "
                       f"come from the checkout (use actions/checkout with ref: the PR head sha)")
            session = Session.open(root, settings, config)
            session.confirm_cost = terminal_cost_confirm()
            result = guarded(lambda: run_review(session, target, progress, notice), progress)
            _print(result, output_format or ("md" if not post else None), output_file, root)
            if post:
                outcome = post_review(client, result, root)
                plural = "s" if outcome.inline_posted != 1 else ""
                existing = f", {outcome.inline_existing} already there" if outcome.inline_existing else ""
                verb = "updated" if outcome.summary_updated else "posted"
                moved = (f" ({outcome.moved} finding{'s' if outcome.moved != 1 else ''} outside the changed lines "
                         f"{'are' if outcome.moved != 1 else 'is'} in it)") if outcome.moved else ""
                console.print(f"Posted a review with {outcome.inline_posted} inline comment{plural} on "
                              f"{gh.repository}#{pr}{existing}; {verb} the summary comment{moved}.",
                              markup=False, highlight=False)
    else:
        assert base is not None
        config = model_config()
        with local_target(root, base, head) as (target, new_root):
            session = Session.open(new_root, settings, config)
            session.confirm_cost = terminal_cost_confirm()
            result = guarded(lambda: run_review(session, target, progress, notice), progress)
            _print(result, output_format or "md", output_file, new_root)
    _report_usage(console, result)
    if fail_on != "never":
        severe = result.at_or_above(fail_on)
        if severe:
            raise RepopackError(f"{len(severe)} finding{'s' if len(severe) != 1 else ''} at or above {fail_on} "
                                f"severity (--fail-on {fail_on})")


def _print(result: ReviewResult, fmt: str | None, output_file: str | None, root: Path) -> None:
    if fmt is None:
        return
    text = render_markdown(result) if fmt == "md" else render_json(result) if fmt == "json" else render_sarif(
        result, root)
    write_output(text, output_file or "-")


def _report_usage(console: Console, result: ReviewResult) -> None:
    ctx = result.context
    answer = result.answer
    tokens = f"; model used {answer.input_tokens:,} input tokens" if answer and answer.input_tokens else ""
    console.print(f"Reviewed {len(ctx.diffs) - len(ctx.omitted)} of {len(ctx.diffs)} changed files with "
                  f"{len(ctx.also_read)} more files of context{tokens}: {len(result.findings)} finding"
                  f"{'s' if len(result.findings) != 1 else ''}.", markup=False, highlight=False)
