"""`repopack eval`: measure the model's usable context and the ranking's recall on this repository."""

from __future__ import annotations

import json
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from repopack.cli.app import cli
from repopack.cli.common import settings_for, stderr_console
from repopack.cli.options import base_url_option, model_option
from repopack.config import parse_budget
from repopack.errors import CostLimitError, RepoError, UsageError
from repopack.eval.mine import DEFAULT_MAX_FILES, mine_tasks, read_tasks, write_tasks
from repopack.model.effective import DEFAULT_THRESHOLD, store_measurement
from repopack.util.fmt import format_tokens
from repopack.util.output import write_output
from repopack.util.paths import data_dir

if TYPE_CHECKING:
    from repopack.eval.localize import LocalizeReport, TaskResult
    from repopack.eval.needle import Estimate, NeedleReport, Trial

# The model client, packing and ranking are imported inside the commands: every other
# command starts without paying for them.
LOCALIZE_BUDGETS = "8k,32k,128k"  # as ../shared/bench/localize
LOCALIZE_ENCODING = "cl100k_base"


@cli.group("eval")
def eval_group() -> None:
    """Measure how well the model and the ranking work on this repository."""


def parse_sizes(value: str, flag: str) -> tuple[int, ...]:
    sizes = []
    for item in value.split(","):
        if not item.strip():
            continue
        try:
            size = parse_budget(item)
        except UsageError:
            raise UsageError(f"{flag} takes token counts like 8k,32k,128k; got {item.strip()!r}") from None
        if size is not None:
            sizes.append(size)
    if not sizes:
        raise UsageError(f"{flag} needs at least one size, e.g. 8k,32k")
    return tuple(sorted(set(sizes)))


def parse_depths(value: str) -> tuple[float, ...]:
    try:
        depths = sorted({float(d) for d in value.split(",") if d.strip()})
    except ValueError:
        raise UsageError(f"--depths takes shares between 0 and 1 like 0,0.5,1; got {value!r}") from None
    if not depths:
        raise UsageError("--depths needs at least one depth, e.g. 0,0.5,1")
    return tuple(depths)


def _money(cost: float | None) -> str:
    return "n/a" if cost is None else f"${cost:.4f}"


def describe_estimate(est: Estimate, model: str, endpoint: str) -> str:
    what = (f"{est.requests} request{'s' if est.requests != 1 else ''} to {model} at {endpoint}, "
            f"up to {est.input_tokens:,} input and {est.output_tokens:,} output tokens")
    if est.local:
        return f"{what}; local endpoint, no cost"
    if est.cost is None:
        return f"{what}; price unknown ({model} is not priced in the model registry)"
    return f"{what}; estimated cost {_money(est.cost)} at list price"


def confirm_cost(est: Estimate, description: str, max_cost: float | None, yes: bool) -> None:
    """Local endpoints run at once; anything that may cost money needs --yes, a covering --max-cost,
    or a yes at the terminal."""
    if max_cost is not None and est.cost is not None and est.cost > max_cost:
        raise CostLimitError(f"{description}, above --max-cost {_money(max_cost)}; "
                             "use fewer --sizes, --depths or --trials, or raise --max-cost")
    if est.local or yes or (max_cost is not None and est.cost is not None):
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{description}. Not sent: there is no terminal to confirm on; "
                         "re-run with --yes (or --max-cost USD) to go ahead")
    if not click.confirm("Run it?", default=False, err=True):
        raise click.exceptions.Abort()


def needle_table(report: NeedleReport) -> list[str]:
    depths = report.plan.depths
    head = ["size", "tokens", *(f"depth {d:g}" for d in depths), "latency", "cost"]
    rows = []
    for size in report.plan.sizes:
        cells = [report.cell(size, d) for d in depths]
        trials = [t for t in report.trials if t.size == size]
        latency = sum(t.latency_s for t in trials) / len(trials)
        costs = [c.cost for c in cells]
        cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
        mark = "" if report.reached(size) else "*"
        rows.append([format_tokens(size) + mark, f"{max(c.prompt_tokens for c in cells):,}",
                     *(f"{c.accuracy:.0%}" for c in cells), f"{latency:.2f}s", _money(cost)])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(row, widths, strict=True)))
             for row in [head, *rows]]
    if any(not report.reached(s) for s in report.plan.sizes):
        lines.append("* the repository is smaller than this size: the context is the whole repository")
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


@eval_group.command("needle")
@click.argument("path", default=".", type=click.Path())
@click.option("--sizes", default="8k,32k,128k", show_default=True, help="Context sizes to test, in tokens.")
@click.option("--depths", default="0,0.25,0.5,0.75,1", show_default=True,
              help="Where the fact goes, as a share of the context (0 = start).")
@click.option("--trials", type=click.IntRange(min=1), default=1, show_default=True, help="Trials per size and depth.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Accuracy a size needs at every depth to count as effective.")
@model_option
@base_url_option
@click.option("--max-cost", type=float, help="Refuse to run when the estimate is above this many USD.")
@click.option("--yes", "-y", is_flag=True, help="Run without asking to confirm the cost.")
@click.option("--out", type=click.Path(file_okay=False), help="Directory for report.json and heatmap.svg.")
@click.option("--seed", type=int, help="Seed for the planted names and values (default: random).")
@click.option("--encoding", help="tiktoken encoding for sizes (default o200k_base, offline cl100k_base).")
@click.option("--no-store", is_flag=True, help="Do not store the effective context for --budget auto.")
def needle_command(path: str, sizes: str, depths: str, trials: int, threshold: float, model: str | None,
                   base_url: str | None, max_cost: float | None, yes: bool, out: str | None, seed: int | None,
                   encoding: str | None, no_store: bool) -> None:
    """Plant a fact at several depths of real packed contexts of PATH and ask the model for it."""
    from repopack.eval.heatmap import needle_svg
    from repopack.eval.needle import NeedlePlan, estimate_run, run_needle
    from repopack.model.client import ClientConfig
    from repopack.model.registry import lookup_model

    root, settings = settings_for(path, {"model": model, "base_url": base_url, "max_cost": max_cost,
                                         "encoding": encoding})
    plan = NeedlePlan(parse_sizes(sizes, "--sizes"), parse_depths(depths), trials, threshold,
                      secrets.randbelow(2**31) if seed is None else seed)
    config = ClientConfig.resolve(base_url=settings.base_url, model=settings.model, timeout=settings.timeout)
    info = lookup_model(config.model, settings.window)
    console = stderr_console()
    est = estimate_run(plan, info, config.base_url)
    description = describe_estimate(est, config.model, config.endpoint)
    console.print(f"eval needle: {description}", markup=False)
    confirm_cost(est, description, settings.max_cost, yes)

    def on_trial(t: Trial) -> None:
        verdict = "found" if t.found else ("error" if t.error else "missed")
        console.print(f"  {format_tokens(t.size)} depth {t.depth:g} trial {t.trial + 1}: {verdict} "
                      f"({t.latency_s:.2f}s, {t.path})", markup=False)

    report = run_needle(root, settings, plan, config, info, on_trial=on_trial,
                        on_stage=lambda s: console.print(s, markup=False))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out) if out else data_dir() / "eval" / f"needle-{_slug(config.model)}-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, svg_path = out_dir / "report.json", out_dir / "heatmap.svg"
    write_output(json.dumps(report.to_json(), indent=2) + "\n", str(json_path))
    write_output(needle_svg(report), str(svg_path))

    click.echo(f"needle in {root.name}: {config.model} at {config.endpoint}, {plan.trials} trial"
               f"{'s' if plan.trials != 1 else ''} per cell, seed {plan.seed}")
    for line in needle_table(report):
        click.echo(line)
    effective = report.effective_tokens
    label = format_tokens(effective) if effective else f"below {format_tokens(min(plan.sizes))}"
    click.echo(f"effective context: {label} (accuracy >= {plan.threshold:.0%} at every depth)")
    click.echo(f"report: {json_path}")
    click.echo(f"heat map: {svg_path}")
    if not no_store:
        stored = store_measurement(report.measurement(str(json_path)))
        click.echo(f"stored for --budget auto: {config.model} -> {report.measurement().label} ({stored})")


@eval_group.command("mine")
@click.argument("path", default=".", type=click.Path())
@click.option("--since", required=True, help="Mine the commits after this ref (e.g. HEAD~50 or v1.2.0).")
@click.option("--head", default="HEAD", show_default=True, help="... up to this ref.")
@click.option("--max-files", type=click.IntRange(min=1), default=DEFAULT_MAX_FILES, show_default=True,
              help="Skip commits that change more files than this.")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many tasks (newest first).")
@click.option("--out", "-o", default="-", show_default=True, help="Tasks file (JSON lines), or - for stdout.")
def mine_command(path: str, since: str, head: str, max_files: int, limit: int | None, out: str) -> None:
    """Build localisation tasks from PATH's git history: message as query, modified source files as gold."""
    tasks, skipped = mine_tasks(Path(path), since, head=head, max_files=max_files, limit=limit)
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"
    if not tasks:
        raise RepoError(f"no commit in {since}..{head} makes a task (skipped: {reasons}); try an older --since")
    write_output(write_tasks(tasks), out)
    stderr_console().print(f"mined {len(tasks)} task{'s' if len(tasks) != 1 else ''} from {since}..{head} "
                           f"-> {'stdout' if out == '-' else out}; skipped: {reasons}", markup=False)


def localize_table(report: LocalizeReport) -> list[str]:
    lines = [f"{'budget':<8}{'recall':>8}{'all gold':>10}"]
    for budget in report.budgets:
        lines.append(f"{format_tokens(budget):<8}{report.mean_recall(budget):>8.1%}{report.all_share(budget):>10.1%}")
    return lines


@eval_group.command("localize")
@click.argument("path", default=".", type=click.Path())
@click.option("--tasks", "tasks_file", required=True, type=click.Path(dir_okay=False),
              help="JSON lines: query, gold, optional base_commit (what `eval mine` writes).")
@click.option("--budgets", default=LOCALIZE_BUDGETS, show_default=True,
              help="Token budgets to score.")
@click.option("--encoding", default=LOCALIZE_ENCODING, show_default=True, help="tiktoken encoding for file costs.")
@click.option("--out", "-o", help="Write one JSON record per task to this file.")
@click.option("--verbose", "-v", is_flag=True, help="Print each task's gold ranks and recall.")
def localize_command(path: str, tasks_file: str, budgets: str, encoding: str, out: str | None,
                     verbose: bool) -> None:
    """File recall of repopack's ranking at token budgets, as in ../shared/bench/localize."""
    from repopack.eval.localize import evaluate_localize
    from repopack.packing.tokens import get_tokenizer

    root = settings_for(path, {})[0]
    tasks = read_tasks(Path(tasks_file))
    budget_list = parse_sizes(budgets, "--budgets")
    tokenizer = get_tokenizer(encoding)
    console = stderr_console()

    def on_task(r: TaskResult) -> None:
        if verbose:
            recall = " ".join(f"{format_tokens(b)}={v:.0%}" for b, v in r.recall.items())
            ranks = ", ".join(f"{g}@{'-' if k is None else k}" for g, k in r.gold_rank.items())
            console.print(f"  {r.task.id}: {recall} ({ranks}){' error: ' + r.error if r.error else ''}",
                          markup=False)

    report = evaluate_localize(root, tasks, tokenizer, budget_list, on_task=on_task)
    for task_id, why in report.skipped:
        console.print(f"skipped {task_id}: {why}", markup=False)
    if not report.results:
        raise RepoError(f"no task in {tasks_file} could be scored")
    errors = sum(1 for r in report.results if r.error)
    click.echo(f"localize: {len(report.results)} tasks{f' ({errors} err)' if errors else ''}"
               f"{f', {len(report.skipped)} skipped' if report.skipped else ''}; repopack ranking, whole files "
               f"in rank order, a file costs its tokens + 4 ({report.encoding})")
    for line in localize_table(report):
        click.echo(line)
    if out:
        write_output("".join(json.dumps(r.to_json()) + "\n" for r in report.results), out)
