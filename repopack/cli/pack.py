"""`repopack pack`: the main job, no model needed."""

from __future__ import annotations

import dataclasses
import heapq
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import click

from repopack.choices import Format, Mode, Order, values
from repopack.cli.app import cli
from repopack.cli.common import (
    LazyProgress,
    Printer,
    StderrConsole,
    Styled,
    guarded,
    open_source,
    read_query,
    settings_for,
)
from repopack.cli.options import (
    budget_option,
    diff_option,
    encoding_option,
    focus_option,
    images_options,
    no_cache_option,
    query_options,
    ref_option,
)
from repopack.config import Settings, parse_budget
from repopack.errors import BudgetError, UsageError
from repopack.packing.filelist import split_names
from repopack.packing.history import UNCOMMITTED, HistoryRequest
from repopack.packing.pipeline import PackResult, pack_repo
from repopack.packing.rank import Signals
from repopack.packing.redaction import SecretFinding, report_lines
from repopack.packing.remote import is_remote
from repopack.packing.reuse import already_written, remember
from repopack.util.collector import collector_off_for_one_shot
from repopack.util.output import write_output


@cli.command("pack")
@click.argument("path", default=".", type=click.Path())
@budget_option("Token budget for the whole rendered prompt; auto: the measured effective context of the "
               "configured model, see `repopack eval needle`")
@click.option("--format", "fmt", type=click.Choice(values(Format)), help="Output format (default xml).")
@click.option("-o", "--output", help="Output file, or - for stdout (default repopack-output.<ext>).")
@click.option("--include", multiple=True, help="Only pack files matching this gitignore-style glob (repeatable).")
@click.option("--exclude", multiple=True, help="Never pack files matching this glob (repeatable).")
@encoding_option
@click.option("--line-numbers/--no-line-numbers", default=None, help="Prefix full files with line numbers.")
@click.option("--order", type=click.Choice(values(Order)),
              help="Where the most relevant files go (default relevance-last).")
@click.option("--max-file-size", "max_file_bytes", type=int, help="Skip files larger than this many bytes.")
@click.option("--no-default-excludes", is_flag=True, help="Also pack node_modules, build output, lock files ...")
@query_options
@focus_option
@diff_option
@click.option("--explain", is_flag=True, help="Print why each file is in the pack, at which fidelity, or left out.")
@click.option("--timings", is_flag=True, help="Print how long each stage took (list, walk, redact, index, snapshot, "
              "rank, fit, output), one line per stage, to stderr.")
@click.option("--manifest", type=click.Path(dir_okay=False), help="Write the explanation as JSON to this file.")
@click.option("--no-redact", is_flag=True, help="Do not redact secrets (they are redacted by default).")
@images_options
@no_cache_option
@ref_option
@click.option("--include-diff", "include_diff", is_flag=False, flag_value=UNCOMMITTED, default=None,
              metavar="[REF]", help="Add a git diff block: uncommitted changes, or REF...HEAD with a ref "
              "(write --include-diff=REF, or put it after PATH).")
@click.option("--include-log", type=click.IntRange(min=1), metavar="N",
              help="Add a block with the last N commits (hash, date, subject, files changed).")
@click.option("--split-output", help="Write parts of at most this many tokens (e.g. 50k), each a standalone "
              "prompt, split at file boundaries: OUTPUT.1.xml, OUTPUT.2.xml, ...")
@click.option("--watch", is_flag=True, help="Re-pack whenever a file changes (Ctrl-C stops).")
@click.option("--stdin", "from_stdin", is_flag=True, help="Pack exactly the files listed on standard input, "
              "one per line (`git ls-files | repopack pack --stdin`).")
@click.option("-0", "--null", "null", is_flag=True, help="With --stdin: names are NUL-separated (find -print0, "
              "git ls-files -z).")
def pack_command(path: str, budget: str | None, fmt: str | None, output: str | None, include: tuple[str, ...],
                 exclude: tuple[str, ...], encoding: str | None, line_numbers: bool | None, order: str | None,
                 max_file_bytes: int | None, no_default_excludes: bool, query: str | None, query_file: str | None,
                 focus: tuple[str, ...], diff_base: str | None, explain: bool, timings: bool, manifest: str | None,
                 no_redact: bool, images: str | None, max_images: int | None, no_cache: bool, ref: str | None,
                 include_diff: str | None, include_log: int | None, split_output: str | None, watch: bool,
                 from_stdin: bool, null: bool) -> None:
    """Pack the repository at PATH (a directory, a git URL or github:OWNER/REPO) into one prompt."""
    if null and not from_stdin:
        raise UsageError("-0 reads NUL-separated names from standard input: use it with --stdin")
    split = parse_budget(split_output, flag="--split-output") if split_output is not None else None
    flags = {"budget": parse_budget(budget), "format": fmt, "include": include, "exclude": exclude,
             "encoding": encoding, "line_numbers": line_numbers, "order": order, "max_file_bytes": max_file_bytes,
             "default_excludes": False if no_default_excludes else None,
             "redact": False if no_redact else None, "cache": False if no_cache else None,
             "images": images, "max_images": max_images}
    console = StderrConsole()
    remote = is_remote(path)
    if watch and (remote or from_stdin):
        raise UsageError("--watch re-packs a local directory; it cannot watch " +
                         ("a remote repository" if remote else "a list read from --stdin"))
    only = split_names(sys.stdin.read(), null) if from_stdin else None
    path = open_source(path, ref, console, depth=include_log or 1)
    root, settings = settings_for(path, flags)
    if split is not None and settings.budget is not None:
        raise UsageError("--split-output cuts a whole pack into parts; it cannot be combined with --budget "
                         "(each part is at most the --split-output size)")
    signals = Signals(query=read_query(query, query_file), focus=focus)
    target = output or f"repopack-output{Format(settings.format).extension}"
    if split is not None and target == "-":
        raise UsageError("--split-output writes one file per part: give -o FILE, not -o -")
    settings = exclude_own_output(root, settings, target)
    history = HistoryRequest(diff=include_diff, log=include_log)

    def pack_once(quiet: bool = False) -> PackResult:
        progress = LazyProgress(console)
        started = time.perf_counter()
        result: PackResult = guarded(lambda: pack_repo(root, settings, signals, progress, diff_base=diff_base,
                                                       reuse=split is None, history=history, only=only),
                                         progress)  # parts need the file texts, which a reused pack does not keep
        packed_at = time.perf_counter()
        packed = result.packed
        if packed.empty and packed.budget is not None:  # a prompt of paths only is not worth writing
            raise BudgetError(f"a budget of {packed.budget} tokens holds the prompt header ({packed.header_tokens} "
                              f"tokens) but not one file's text: use --budget {packed.useful_budget} or more (about "
                              "what the top-ranked file needs); nothing was written")
        if split is not None:
            shown = write_parts(result, split, target)
        elif not already_written(result, target):
            written = write_output(result.text, target)
            remember(result, str(written) if written is not None else "-")  # never a link to a device or FIFO
            shown = target
        else:
            shown = target  # a reused pack whose text that very file already holds: nothing to write
        if manifest:
            from repopack.packing.manifest import build_manifest

            write_output(json.dumps(build_manifest(result), indent=2) + "\n", manifest)
        if explain and not quiet:
            from repopack.packing.manifest import explain_lines

            for line in explain_lines(result):
                console.print(line, markup=False, highlight=False)
        if quiet:
            console.print(summary_line(result, shown), markup=False, highlight=False)
        else:
            print_summary(console, result, shown, redacting=settings.redact)
        if timings:
            for line in timing_lines(result.timings, packed_at - started, time.perf_counter() - packed_at):
                console.print(line, markup=False, highlight=False)
        return result

    if not watch:
        collector_off_for_one_shot()  # see util.collector
    pack_once()
    if watch:
        from repopack.cli.watch import watch_and_repack

        watch_and_repack(root, lambda: pack_once(quiet=True), console,
                         ignore=[p for p in (target, manifest) if p and p != "-"], split=split is not None)


def write_parts(result: PackResult, limit: int, target: str) -> str:
    """Write each part next to `target` (out.xml -> out.1.xml, out.2.xml, ...); says what went where."""
    from repopack.packing.tokenmap import split_pack

    parts = split_pack(result.packed, limit, result.tokenizer)
    stem, dot, ext = target.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = target, ""
    names = [f"{stem}.{i}{'.' + ext if ext else ''}" for i in range(1, len(parts) + 1)]
    for part, name in zip(parts, names, strict=True):
        write_output(part.text, name)
    sizes = ", ".join(f"{p.tokens:,}" for p in parts)
    return f"{len(parts)} parts ({sizes} tokens): {names[0]} … {names[-1]}" if len(parts) > 1 else names[0]


def exclude_own_output(root: Path, settings: Settings, target: str) -> Settings:
    """An output file inside the repository is never packed into the next prompt."""
    if target == "-":
        return settings
    try:
        rel = Path(target).resolve().relative_to(root).as_posix()
    except ValueError:
        return settings
    escaped = "".join("\\" + c if c in "*?[]!#\\" else c for c in rel)
    return dataclasses.replace(settings, exclude=(*settings.exclude, "/" + escaped))


MAX_LISTED_FINDINGS = 5


def timing_lines(stages: dict[str, float], pack_seconds: float, write_seconds: float) -> list[str]:
    """'timing: walk 0.118 s', one line per stage of the pack, then the output (prompt, manifest, summary)
    and the total.
    A pack served by reuse (an identical earlier pack of the unchanged tree) has one stage, `reused`."""
    if "reused" in stages:
        rows = [("reused", pack_seconds)]
    else:
        rows = list(stages.items())
        rows.append(("other", max(0.0, pack_seconds - sum(stages.values()))))  # settings, listing, images
    rows += [("output", write_seconds), ("total", pack_seconds + write_seconds)]
    width = max(len(name) for name, _ in rows)
    return [f"timing: {name:<{width}} {seconds:7.3f} s" for name, seconds in rows]


def print_findings(console: Printer, findings: Sequence[SecretFinding], see: str = "--manifest") -> None:
    """One summary line, then the first few locations by file:line and type; never a value."""
    from repopack.packing.secret_rules import group_of

    for line in report_lines(findings, group_of, limit=MAX_LISTED_FINDINGS, see=see):
        console.print(line, markup=False, highlight=False, style="red" if line.startswith("redacted") else None)


def summary_line(result: PackResult, target: str) -> str:
    """'Packed 12 files (10 full, 2 skeleton): 3,456 tokens of 8,000 budget (o200k_base) → out.xml'."""
    return "Packed" + _summary_rest(result, target)


def _summary_rest(result: PackResult, target: str) -> str:
    packed = result.packed
    modes = Counter(d.mode for d in packed.decisions)
    parts = [f"{modes[Mode.FULL]} full"]
    if modes[Mode.FOCUSED]:
        parts.append(f"{modes[Mode.FOCUSED]} focused")
    if modes[Mode.SKELETON]:
        parts.append(f"{modes[Mode.SKELETON]} skeleton")
    if modes[Mode.PATH]:
        parts.append(f"{modes[Mode.PATH]} path-only")
    if modes[Mode.DROPPED]:
        parts.append(f"{modes[Mode.DROPPED]} left out")
    extras = packed.document.extras
    history = f", {' + '.join('diff' if e.kind == 'git_diff' else 'log' for e in extras)}" if extras else ""
    budget = f" of {packed.budget:,} budget" if packed.budget else ""
    images = result.images
    with_images = f" + {images.tokens:,} in {len(images.sent)} images" if images.sent else ""
    return (f" {len(result.walk.files)} files ({', '.join(parts)}{history}): "
            f"{packed.tokens:,} tokens{with_images}{budget} ({result.tokenizer.name}) → "
            f"{target if target != '-' else 'stdout'}")


def largest_files(file_tokens: dict[str, int], n: int) -> list[tuple[str, int]]:
    """The n files with the most tokens, ties by path (without sorting all of a big repository)."""
    if not file_tokens or n <= 0:
        return []
    floor = heapq.nlargest(n, file_tokens.values())[-1]
    return sorted(((p, t) for p, t in file_tokens.items() if t >= floor), key=lambda kv: (-kv[1], kv[0]))[:n]


def print_summary(console: StderrConsole, result: PackResult, target: str, redacting: bool = True) -> None:
    packed = result.packed
    tok = result.tokenizer
    if tok.note:
        console.line(("note:", "yellow"), f" {tok.note}")
    if not redacting:
        console.line(("warning:", "yellow"), " secret redaction is off (--no-redact)")
    for warning in result.walk.warnings:
        console.line(("warning:", "yellow"), f" {warning}")
    print_findings(console, result.findings)
    console.line(("Packed", "bold"), _summary_rest(result, target))
    images = result.images
    lines: list[Styled] = []
    if images.images and not images.sent:
        lines.append(f"Images listed by path only: {images.note}")
    reasons = Counter(s.reason for s in result.walk.skipped)
    if reasons:
        listed = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
        lines.append(f"Skipped {len(result.walk.skipped)}: {listed}")
    largest = largest_files(result.file_tokens, 5)
    if largest:
        lines.append("Largest: " + ", ".join(f"{p} ({n:,})" for p, n in largest))
    dropped = [d.path for d in packed.decisions if d.mode in (Mode.PATH, Mode.DROPPED)]
    if dropped and packed.budget:
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        lines.append(f"Left out for the budget: {', '.join(dropped[:5])}{more}")
    for line in lines:
        console.line(line)


__all__ = ["pack_command", "print_summary", "Path"]
