"""`repopack ask`: pack context for a question, stream the model's answer, optionally apply its edits."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.rule import Rule

from repopack.chat.edits import edit_summary
from repopack.choices import Mode
from repopack.cli.answer import AnswerView, diff_text, edit_record, format_cost
from repopack.cli.app import cli
from repopack.cli.common import LazyProgress, settings_for, stderr_console, terminal_cost_confirm
from repopack.cli.options import (
    base_url_option,
    budget_option,
    focus_option,
    images_options,
    max_cost_option,
    model_option,
    recording_options,
    ref_option,
)
from repopack.config import parse_budget
from repopack.errors import ApplyError, NoModelConfiguredError, UsageError

if TYPE_CHECKING:  # the session pulls in the openai SDK (~1 s to import): only `ask` itself pays for it
    from repopack.chat.apply import ApplyResult
    from repopack.chat.edits import FileEdit
    from repopack.chat.session import PackedEvent, Session, UsageEvent
    from repopack.model.client import ClientConfig
    from repopack.packing.scan import SecretFinding

MODE_LABELS = ((Mode.FULL, "full"), (Mode.FOCUSED, "focused"), (Mode.SKELETON, "skeleton"), (Mode.PATH, "path-only"),
               (Mode.DROPPED, "left out"))


@dataclass
class AskOutcome:
    """What one `ask` produced, gathered from the session's events."""

    packed: PackedEvent | None = None
    answer: str | None = None
    usage: UsageEvent | None = None
    edits: tuple[FileEdit, ...] = ()
    notices: list[str] = field(default_factory=list)
    findings: list[SecretFinding] = field(default_factory=list)
    applied: ApplyResult | None = None


def split_args(args: tuple[str, ...]) -> tuple[str, str]:
    """[PATH] QUESTION -> (path, question); QUESTION '-' reads standard input."""
    if len(args) == 1:
        path, question = ".", args[0]
    elif len(args) == 2:
        path, question = args
    else:
        raise UsageError(f"expected [PATH] QUESTION, got {len(args)} arguments; quote the question")
    if question == "-":
        question = sys.stdin.read()
    if not question.strip():
        raise UsageError("the question is empty")
    return path, question


def stdout_console() -> Console:
    no_color = bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()
    return Console(no_color=no_color, highlight=False, soft_wrap=True)


@cli.command("ask")
@click.argument("args", nargs=-1, required=True, metavar="[PATH] QUESTION")
@budget_option("Tokens for the packed context (default: the model's measured effective context, else its "
               "window minus reserved output and the question; auto: the measurement)")
@focus_option
@model_option
@base_url_option
@click.option("--api-key", help="API key (default OPENAI_API_KEY; prefer the environment over this flag).")
@click.option("--window", type=int, help="Context window in tokens, for models not in the registry.")
@click.option("--timeout", type=float, help="Seconds to wait for the endpoint (default 120).")
@click.option("--dry-run", is_flag=True, help="Send nothing; show what would be sent and what it would cost.")
@click.option("--apply", "apply_edits", is_flag=True, help="Apply the diffs in the answer (undo: repopack undo).")
@click.option("--allow-unpacked", is_flag=True,
              help="With --apply: also edit files the model did not see (asked on a terminal otherwise).")
@max_cost_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming text.")
@click.option("--no-redact", is_flag=True, help="Send secrets unredacted (they are redacted by default).")
@click.option("--prompts", type=click.Path(file_okay=False), help="Directory of prompt templates to use instead.")
@recording_options
@images_options
@click.option("--explain", is_flag=True, help="Print why each file and image is in the context, or left out.")
@ref_option
def ask_command(args: tuple[str, ...], budget: str | None, focus: tuple[str, ...], model: str | None,
                base_url: str | None, api_key: str | None, window: int | None, timeout: float | None,
                dry_run: bool, apply_edits: bool, allow_unpacked: bool, max_cost: float | None, as_json: bool,
                no_redact: bool, prompts: str | None, record: str | None, replay: str | None, images: str | None,
                max_images: int | None, explain: bool, ref: str | None) -> None:
    """Ask a model QUESTION about the repository at PATH (default .), with the best context packed in."""
    from repopack.chat.session import Session
    from repopack.model.client import ClientConfig

    path, question = split_args(args)
    if dry_run and apply_edits:
        raise UsageError("--dry-run sends nothing, so there is nothing to --apply")
    from repopack.cli.common import open_source
    from repopack.packing.remote import is_remote

    if apply_edits and is_remote(path):
        raise UsageError("--apply edits files: it needs a local repository, not a remote one")
    path = open_source(path, ref, stderr_console())
    flags = {"budget": parse_budget(budget, model, window), "model": model, "base_url": base_url, "window": window,
             "timeout": timeout, "max_cost": max_cost, "prompts": prompts, "redact": False if no_redact else None,
             "images": images, "max_images": max_images}
    root, settings = settings_for(path, flags)
    config: ClientConfig | None = None
    try:  # fail before packing when nothing is configured (a dry run needs no endpoint)
        config = ClientConfig.resolve(base_url=settings.base_url, api_key=api_key, model=settings.model,
                                      timeout=settings.timeout, record=record, replay=replay)
    except NoModelConfiguredError:
        if not dry_run:
            raise
    session = Session.open(root, settings, config)
    session.focus = focus
    session.confirm_cost = terminal_cost_confirm()
    err = stderr_console()
    out = stdout_console()
    if not settings.redact:
        err.print("[yellow]warning:[/] secret redaction is off (--no-redact)")

    outcome = run_ask(session, question, err, out, dry_run=dry_run, stream=not as_json, explain=explain)
    if outcome.edits and not dry_run:
        show_edits(outcome.edits, err, out, show_diffs=not as_json and out.is_terminal, hint=not apply_edits)
    if apply_edits and outcome.edits:
        outcome.applied = session.apply(outcome.edits, allow_unpacked=allow_unpacked or ask_unpacked(err))
        report_apply(outcome.applied, err, path)
    elif apply_edits:
        err.print("No edits in the answer; nothing to apply.")
    if dry_run and not as_json:
        print_dry_run(outcome, session, config, out)
    if not dry_run:
        print_usage(outcome, err, session.model_name)
    if as_json:
        click.echo(json.dumps(json_record(outcome, session, config, dry_run), indent=2))
    if outcome.applied is not None and outcome.applied.rejected:
        n = len(outcome.applied.rejected)
        raise ApplyError(f"{n} of {n + len(outcome.applied.applied)} edited files could not be applied "
                         f"(reasons above)")


def run_ask(session: Session, question: str, err: Console, out: Console, *, dry_run: bool,
            stream: bool, explain: bool = False) -> AskOutcome:
    """Drive Session.ask, streaming tokens to `out` and notices to `err` as they come."""
    from repopack.chat.session import DoneEvent, EditsEvent, NoticeEvent, PackedEvent, TokenEvent, UsageEvent

    outcome = AskOutcome()
    progress = LazyProgress(err)
    deferred: list[str] = []  # notices that arrive while the live view owns the terminal
    view = AnswerView(out)
    try:
        for event in session.ask(question, dry_run=dry_run, progress=progress):
            if isinstance(event, PackedEvent):
                progress.stop()
                first, outcome.packed = outcome.packed is None, event
                if explain:
                    from repopack.packing.manifest import explain_lines

                    for line in explain_lines(event.result):
                        err.print(line, markup=False, highlight=False)
                report_packed(event, outcome, err, session, sending=not dry_run, first=first)
            elif isinstance(event, NoticeEvent):
                outcome.notices.append(event.message)
                if view.parts and view.markdown:
                    deferred.append(event.message)
                else:
                    err.print(f"[yellow]notice:[/] {event.message}", highlight=False)
            elif isinstance(event, TokenEvent):
                if stream:
                    view.feed(event.text)
            elif isinstance(event, UsageEvent):
                outcome.usage = event
            elif isinstance(event, EditsEvent):
                outcome.edits = event.edits
            elif isinstance(event, DoneEvent):
                outcome.answer = event.answer
    finally:
        progress.stop()
        view.close()
    for message in deferred:
        err.print(f"[yellow]notice:[/] {message}", highlight=False)
    return outcome


def report_packed(event: PackedEvent, outcome: AskOutcome, err: Console, session: Session, *, sending: bool,
                  first: bool) -> None:
    result = event.result
    if first:
        if result.tokenizer.note:
            err.print(f"[yellow]note:[/] {result.tokenizer.note}", highlight=False)
        for warning in result.walk.warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False)
    new = [finding for finding in result.findings if finding not in outcome.findings]
    if new:
        from repopack.cli.pack import print_findings

        outcome.findings.extend(new)
        print_findings(err, new, see="--json" if first else "")
    if first and session.settings.max_cost is not None and event.estimated_cost is None:
        err.print(f"warning: no price is known for {session.model_name}, so --max-cost cannot be checked",
                  markup=False, highlight=False)
    if sending:
        if event.budget_note:
            err.print(f"Budget: {event.budget:,} tokens ({event.budget_note})", markup=False, highlight=False)
        target = session.client_config.endpoint if session.client_config else "the endpoint"
        attached = len(result.images.sent)
        images = f" and {attached} image{'s' if attached != 1 else ''}" if attached else ""
        err.print(f"Sending {mode_counts(event)}{images}, ~{event.estimated_input_tokens:,} tokens, to "
                  f"{session.model_name} at {target} (estimated cost at most "
                  f"{format_cost(event.estimated_cost)})", markup=False, highlight=False)


def ask_unpacked(err: Console) -> bool | Callable[[str], bool]:
    """On a terminal, ask before editing a file the model did not see; elsewhere the answer is no."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False

    def confirm(path: str) -> bool:
        return click.confirm(f"{path} was not in the pack the model saw. Edit it anyway?", default=False, err=True)

    return confirm


def mode_counts(event: PackedEvent) -> str:
    modes = Counter(d.mode for d in event.result.packed.decisions)
    parts = [f"{modes[mode]} {label}" for mode, label in MODE_LABELS if modes[mode] or mode == Mode.FULL]
    return f"{len(event.result.packed.decisions)} files ({', '.join(parts)})"


def show_edits(edits: tuple[FileEdit, ...], err: Console, out: Console, *, show_diffs: bool, hint: bool) -> None:
    if show_diffs:
        out.print(Rule("Proposed edits"))
        for edit in edits:
            out.print(diff_text(edit), end="")
    err.print(f"Proposed edits ({len(edits)}):", highlight=False)
    for edit in edits:
        err.print(f"  {edit_summary(edit)}", markup=False, highlight=False)
    if hint:
        err.print("Run again with --apply to apply them.", highlight=False)


def report_apply(result: ApplyResult, err: Console, path: str) -> None:
    for applied in result.applied:
        err.print(f"[green]applied:[/] {applied}", highlight=False)
    for rejection in result.rejected:
        err.print(f"[red]rejected:[/] {rejection.path}: {rejection.reason}", highlight=False)
    if result.applied:
        where = "" if path == "." else f" {shlex.quote(path)}"
        err.print(f"Undo with: repopack undo{where}", markup=False, highlight=False)


def print_usage(outcome: AskOutcome, err: Console, model: str) -> None:
    usage = outcome.usage
    if usage is None:
        return
    def num(n: int | None) -> str:
        return "?" if n is None else f"{n:,}"
    err.print(f"Tokens: {num(usage.input_tokens)} in, {num(usage.output_tokens)} out; "
              f"estimated cost {format_cost(usage.cost)} ({model} list price)", markup=False, highlight=False)


def print_dry_run(outcome: AskOutcome, session: Session, config: ClientConfig | None, out: Console) -> None:
    event = outcome.packed
    if event is None:
        return
    info = session.model_info()
    endpoint = config.endpoint if config else "not configured (set OPENAI_BASE_URL or OPENAI_API_KEY)"
    reserve = min(session.settings.reserve_output, info.max_output)
    lines = [
        "Dry run: nothing was sent.",
        f"Model: {session.model_name} (window {info.window:,} tokens{'' if info.known else ', a guess'})",
        f"Endpoint: {endpoint}",
        f"Budget: {event.budget:,} tokens for the packed context"
        + (f" ({event.budget_note})" if event.budget_note else ""),
        f"Would send: {mode_counts(event)}, ~{event.estimated_input_tokens:,} tokens in "
        f"{2 if not session.history else len(session.history) + 1} messages",
        f"Estimated cost: at most {format_cost(event.estimated_cost)} "
        f"(input plus up to {reserve:,} output tokens at list price)",
    ]
    for mode, label in MODE_LABELS:
        chosen = event.result.packed.by_mode(mode)
        if not chosen:
            continue
        lines.append(f"{label.capitalize()} ({len(chosen)}):")
        lines += [f"  {d.path}" + (f" ({d.tokens:,} tokens)" if d.tokens else "") for d in chosen]
    for line in lines:
        out.print(line, markup=False, highlight=False)


def json_record(outcome: AskOutcome, session: Session, config: ClientConfig | None, dry_run: bool) -> dict[str, Any]:
    event = outcome.packed
    usage = outcome.usage
    record: dict[str, Any] = {
        "dry_run": dry_run,
        "model": session.model_name,
        "endpoint": config.endpoint if config else None,
        "answer": outcome.answer,
        "usage": None if usage is None else {"input_tokens": usage.input_tokens,
                                             "output_tokens": usage.output_tokens},
        "cost": None if usage is None else usage.cost,
        "estimated_cost": event.estimated_cost if event else None,
        "budget": event.budget if event else None,
        "budget_note": (event.budget_note or None) if event else None,
        "estimated_input_tokens": event.estimated_input_tokens if event else None,
        "files": [] if event is None else [{"path": d.path, "mode": d.mode, "tokens": d.tokens}
                                           for d in event.result.packed.decisions],
        "images": [] if event is None else [{"path": i.path, "tokens": i.tokens, "attached": i.sent}
                                            for i in event.result.images.images],
        "secrets": [{"path": f.path, "line": f.line, "type": f.type} for f in outcome.findings],
        "notices": outcome.notices,
        "edits": [edit_record(e) for e in outcome.edits],
        "apply": None,
    }
    if outcome.applied is not None:
        record["apply"] = {"applied": list(outcome.applied.applied),
                           "rejected": [{"path": r.path, "reason": r.reason} for r in outcome.applied.rejected]}
    return record
