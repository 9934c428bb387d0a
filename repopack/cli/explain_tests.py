"""`repopack explain-tests`: run the tests and explain each failure with the repository as context.

Made for a pre-commit / pre-push hook: it never modifies files, and it exits with the
test run's status (so a failing commit is still blocked) unless --no-block.  Without a
model it prints the failures and writes each packed prompt to a file to paste anywhere.
"""

from __future__ import annotations

import re
import sys
import tempfile
from functools import partial
from pathlib import Path

import click

from repopack.chat.session import Session
from repopack.chat.testfail import (
    Failure,
    TestRun,
    command_argv,
    deduplicate,
    explain_stream,
    prepare_explanation,
    run_tests,
)
from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, guarded, settings_for, stderr_console, terminal_cost_confirm
from repopack.cli.options import base_url_option, budget_option, max_cost_option, model_option, recording_options
from repopack.config import Settings, parse_budget
from repopack.errors import ModelError, NoModelConfiguredError
from repopack.model.client import ClientConfig


@cli.command("explain-tests")
@click.argument("path", default=".", type=click.Path())
@click.option("--cmd", "command", help="The test command (default: pytest -q, with a JUnit report added).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Read failures from this JUnit XML report (written by --cmd, or already there).")
@click.option("--max", "max_failures", type=click.IntRange(min=1), default=3, show_default=True,
              help="Explain at most this many distinct failures.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds the test command may run.")
@click.option("--no-block", is_flag=True, help="Exit 0 even when tests fail (report only).")
@click.option("--context-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Without a model, write the packed prompts here (default: a new temporary directory).")
@budget_option("Tokens for each failure's context (default: as for ask)")
@model_option
@base_url_option
@max_cost_option
@recording_options
def explain_tests_command(path: str, command: str | None, junit: Path | None, max_failures: int, timeout: float,
                          no_block: bool, context_dir: Path | None, budget: str | None, model: str | None,
                          base_url: str | None, max_cost: float | None, record: str | None,
                          replay: str | None) -> None:
    """Run the tests at PATH; explain why each failure happens and suggest a fix (nothing is changed)."""
    root, settings = settings_for(path, {"budget": parse_budget(budget, model), "model": model, "base_url": base_url,
                                         "max_cost": max_cost})
    config: ClientConfig | None = None
    try:
        config = ClientConfig.resolve(base_url=settings.base_url, model=settings.model, timeout=settings.timeout,
                                      record=record, replay=replay)
    except NoModelConfiguredError:
        pass  # the failures are still reported, and each packed prompt is written to a file
    console = stderr_console()
    if junit is not None and command is None:
        console.print(f"Reading failures from {junit}", markup=False, highlight=False)
    else:
        command_argv(command, junit)  # a usage error comes before "Running …", when nothing ran
        console.print(f"Running {command or 'pytest'} in {root} ...", markup=False, highlight=False)
    run = run_tests(root, command, junit, timeout)
    status = _report_run(run, timeout)
    if run.failures:
        _explain(root, settings, config, run, max_failures, context_dir)
    sys.exit(0 if no_block else status)


def _report_run(run: TestRun, timeout: float) -> int:
    if run.timed_out:
        click.echo(f"The tests did not finish within {timeout:g} s and were stopped.")
        if run.output_tail:
            click.echo(run.output_tail)
        return run.returncode
    if run.returncode == 0 and not run.failures:
        click.echo("All tests passed.")
        return 0
    if not run.failures:
        if run.output_tail:
            click.echo(run.output_tail)
        click.echo(f"The test command exited with {run.returncode} but reported no failing test.")
        return run.returncode
    click.echo(f"{len(run.failures)} test{'s' if len(run.failures) != 1 else ''} failed:")
    for f in run.failures:
        first = f.message.splitlines()[0] if f.message else f.kind
        click.echo(f"  {f.name}: {first}")
    return run.returncode or 1


def _explain(root: Path, settings: Settings, config: ClientConfig | None, run: TestRun, max_failures: int,
             context_dir: Path | None) -> None:
    session = Session.open(root, settings, config)
    session.confirm_cost = terminal_cost_confirm()
    chosen = deduplicate(run.failures, max_failures)
    skipped = len({f.cause_key for f in run.failures}) - len(chosen)
    console = stderr_console()
    progress = LazyProgress(console)
    model_error: str | None = None
    try:
        session.config()
    except NoModelConfiguredError as exc:
        model_error = str(exc)
    written: list[tuple[Failure, Path]] = []
    for number, failure in enumerate(chosen, 1):
        explanation = guarded(partial(prepare_explanation, session, failure, run.command, progress), progress)
        click.echo("")
        click.echo(f"── {number}/{len(chosen)} {failure.name} " + "─" * 8)
        if model_error is None:
            try:
                for text in explain_stream(session, explanation):
                    click.echo(text, nl=False)
                click.echo("")
                continue
            except ModelError as exc:
                model_error = str(exc)
                click.echo("")
        directory = context_dir or Path(tempfile.mkdtemp(prefix="repopack-explain-"))
        context_dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{number}-{_slug(failure.name)}.md"
        target.write_text(explanation.messages[-1]["content"], encoding="utf-8")
        written.append((failure, target))
        click.echo(f"Packed context and question ({explanation.pack.packed.tokens:,} tokens): {target}")
    if model_error is not None:
        click.echo("")
        click.echo(f"No explanation from a model: {model_error}")
        if written:
            click.echo(f"The packed prompts are in {written[0][1].parent}; paste one into any chat model.")
    if skipped > 0:
        click.echo(f"({skipped} more distinct failure{'s' if skipped != 1 else ''} not explained; raise --max)")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.rsplit("::", 1)[-1])[:60] or "failure"
