"""Review a change with the whole repository as context: diff → context → findings → placement.

A review reads the diff itself, the changed files in full, and the change's impact set:
files that use a definition the change touched (callers) and files that define what
the changed lines use (callees), found in the dependency graph and ranked with the
changed files as focus.  Everything is fitted to one token budget; when the diff alone
is too big, the diffs of the highest-ranked (and smaller) files go first and the rest
are listed as not read.  The model answers with JSON findings validated against a
schema (one retry with the error, then a clear failure), and each finding is placed on
a line the change added, or moved into the summary when it is not on one
(`repopack.review.findings`).  Posting and output formats live in `repopack.review.report`.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from repopack.chat.session import Session
from repopack.choices import Mode, Severity
from repopack.config import Settings
from repopack.errors import RepoError, ReviewError
from repopack.model.client import ClientConfig, complete_chat
from repopack.model.templates import render_template
from repopack.packing.fit import BLOCK_MODES
from repopack.packing.graph import MAX_DEFINERS
from repopack.packing.index import RepoIndex
from repopack.packing.pipeline import PackResult, index_repo, pack_repo
from repopack.packing.rank import Signals, rank_files
from repopack.packing.scan import redact_text
from repopack.review.findings import (
    FileDiff,
    Finding,
    InvalidReview,
    ModelReview,
    Placed,
    parse_diff,
    parse_review,
    place_findings,
)
from repopack.review.sanitize import known_credentials, redact_pr_text, scrub_known
from repopack.util.git import extract_tree, run_git
from repopack.util.progress import Progress

DIFF_SHARE = 0.5  # the diff may take at most this share of the budget; the rest is repository context
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


# --- what is reviewed --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewTarget:
    title: str
    description: str
    diff: str
    base: str
    head: str
    pr: int | None = None
    url: str = ""


def _git(root: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    return run_git(root, *args, ok=ok, timeout=120)


def git_head(root: Path) -> str | None:
    try:
        return _git(root, "rev-parse", "HEAD").strip()
    except RepoError:
        return None


@contextmanager
def local_target(root: Path, base: str, head: str | None = None) -> Iterator[tuple[ReviewTarget, Path]]:
    """The change from merge-base(base, head) to head (default: the work tree, untracked files included).

    Yields the target and the directory whose files are the change's new side: the
    repository itself, or an extracted copy of `head` when that is not what is checked out.
    """
    head_ref = head or "HEAD"
    merge_base = _git(root, "merge-base", base, head_ref).strip()
    subjects = _git(root, "log", "--format=- %s", f"{merge_base}..{head_ref}").strip()
    diff_args = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", "--ignore-submodules=dirty", "--relative",
                 "-M")
    if head is None:
        diff = _git(root, *diff_args, merge_base)
        for name in filter(None, _git(root, "ls-files", "--others", "--exclude-standard", "-z").split("\0")):
            diff += _git(root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-index", "--",
                         "/dev/null", name, ok=(0, 1))
        title = f"changes since {base}"
    else:
        diff = _git(root, *diff_args, merge_base, head)
        title = f"{base}...{head}"
    target = ReviewTarget(title, subjects, diff, merge_base, head or "working tree")
    head_sha = _git(root, "rev-parse", head_ref).strip() if head else None
    clean = not _git(root, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=dirty").strip()
    if head is None or (head_sha == git_head(root) and clean):
        yield target, root
        return
    with tempfile.TemporaryDirectory(prefix="repopack-review-") as tmp:
        copy = Path(tmp) / root.name  # the same name: prompts mention the repository by it
        copy.mkdir()
        extract_tree(root, head_sha or head, copy)
        yield target, copy


# --- context -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContextFile:
    path: str
    mode: Mode  # FULL, FOCUSED or SKELETON
    reason: str  # "changed", "calls scale", "defines helper", "ranked"


@dataclass(frozen=True)
class ReviewContext:
    pack: PackResult
    diffs: tuple[FileDiff, ...]
    diff_text: str  # the redacted diff that was sent
    omitted: tuple[FileDiff, ...]  # diffs left out for the budget
    files: tuple[ContextFile, ...]  # what the model read besides the diff, best first
    budget: int
    budget_note: str = ""  # how the budget was chosen when the user gave none

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(d.path for d in self.diffs)

    @property
    def also_read(self) -> tuple[ContextFile, ...]:
        changed = set(self.changed)
        return tuple(f for f in self.files if f.path not in changed)

    @property
    def not_read(self) -> tuple[str, ...]:
        """Changed files whose diff was left out or whose new version was not read in full."""
        full = {f.path for f in self.files if f.mode == Mode.FULL}
        omitted = {d.path for d in self.omitted}
        return tuple(d.path for d in self.diffs
                     if d.path in omitted or (d.status != "removed" and d.path not in full))


def changed_definitions(index: RepoIndex, diffs: Sequence[FileDiff]) -> dict[str, set[str]]:
    """Names defined in each changed file whose definition overlaps a changed line."""
    out: dict[str, set[str]] = {}
    assert index.symbols is not None
    for d in diffs:
        i = index.position.get(d.path)
        if i is None:
            continue
        touched = set(d.added) or {first for first, _ in d.hunks}
        names = {s.name for s in index.symbols[i].defs
                 if s.kind != "module" and any(s.line <= n <= s.end_line for n in touched)}
        if names:
            out[d.path] = names
    return out


def impact_set(index: RepoIndex, diffs: Sequence[FileDiff], limit: int = 30) -> dict[str, list[str]]:
    """Callers of the changed definitions and definers of what the added lines use -> reasons."""
    assert index.symbols is not None
    changed = {d.path for d in diffs}
    definers = index.graph.definers
    reasons: dict[str, list[str]] = {}

    def add(path: str, reason: str) -> None:
        if path not in changed and reason not in reasons.setdefault(path, []):
            reasons[path].append(reason)

    defined = changed_definitions(index, diffs)
    names = {n for group in defined.values() for n in group if len(n) >= 3}
    for j, fs in enumerate(index.symbols):
        used = names.intersection(name for name, _count in fs.refs)
        for name in sorted(used):
            if 0 < len(definers.get(name, ())) <= MAX_DEFINERS:
                add(index.paths[j], f"uses {name}")
    for d in diffs:
        new_lines = [line[1:] for line in d.text.splitlines() if line.startswith("+") and not line.startswith("+++")]
        for name in sorted(set(_IDENT.findall("\n".join(new_lines)))):
            files = definers.get(name, ())
            if 0 < len(files) <= 3:
                for j in files:
                    add(index.paths[j], f"defines {name}")
    ranked = sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return dict(ranked[:limit])


# Files a review rarely needs unless the change touches them: issue/PR templates and CI config.
_LOW_PRIORITY = re.compile(
    r"(?:^|/)(?:\.github/(?:ISSUE_TEMPLATE|PULL_REQUEST_TEMPLATE|DISCUSSION_TEMPLATE|workflows)/|\.circleci/"
    r"|\.gitlab/(?:issue_templates|merge_request_templates)/)"
    r"|(?:^|/)(?:\.gitlab-ci\.ya?ml|\.travis\.ya?ml|azure-pipelines\.ya?ml|appveyor\.ya?ml|\.pre-commit-config\.yaml"
    r"|PULL_REQUEST_TEMPLATE\.md|ISSUE_TEMPLATE\.md|CODEOWNERS|FUNDING\.yml)$", re.IGNORECASE)
NEIGHBOURS_PER_FILE = 8  # graph neighbours (either direction) read per changed file, strongest first


def low_priority(path: str) -> bool:
    """Templates and CI configuration: read only when the change touches them."""
    return bool(_LOW_PRIORITY.search(path))


def neighbourhood(index: RepoIndex, diffs: Sequence[FileDiff], impact: dict[str, list[str]]) -> list[str]:
    """What a review reads besides the diff, by default: the changed files, their impact set, and
    their strongest neighbours in the dependency graph (files they use and files that use them);
    templates and CI config only when changed."""
    changed = [d.path for d in diffs if d.status != "removed"]
    keep = dict.fromkeys(changed)
    keep.update(dict.fromkeys(p for p in impact if not low_priority(p)))
    graph = index.graph
    position = {p: i for i, p in enumerate(graph.paths)}
    matrix = graph.matrix
    both = (matrix + matrix.T).tocsr()
    for path in changed:
        i = position.get(path)
        if i is None:
            continue
        row = both.getrow(i)
        order = sorted(zip(row.indices.tolist(), row.data.tolist(), strict=True), key=lambda jw: (-jw[1], jw[0]))
        near = [graph.paths[j] for j, _w in order if j != i and not low_priority(graph.paths[j])]
        keep.update(dict.fromkeys(near[:NEIGHBOURS_PER_FILE]))
    return list(keep)


def _redacted_diff(diffs: Sequence[FileDiff]) -> dict[str, str]:
    return {d.path: redact_text(d.path, d.text).text for d in diffs}


def build_context(root: Path, settings: Settings, target: ReviewTarget, budget: int,
                  progress: Progress | None = None, budget_note: str = "") -> ReviewContext:
    """Choose the diffs and the repository context for one review: together at most `budget` tokens."""
    diffs = parse_diff(target.diff)
    if not diffs:
        raise ReviewError(f"nothing to review: the diff {target.base}..{target.head} is empty")
    settings = dataclasses.replace(settings, line_numbers=True)
    _root, _walked, index = index_repo(root, settings, progress=progress)
    impact = impact_set(index, diffs)
    defined = changed_definitions(index, diffs)
    names = sorted({n for group in defined.values() for n in group})
    query = "\n".join(filter(None, [target.title, target.description, " ".join(names)]))
    # Callers come up through the changed names in the query, callees through the graph.
    live = [d for d in diffs if d.status != "removed"]
    signals = Signals(query=query or None, changed=tuple(d.path for d in live),
                      hunks=tuple((d.path, first, last) for d in live for first, last in d.hunks))
    scores = {r.path: r.score for r in rank_files(index, signals, root)}

    tokenizer = index.tokenizer
    texts = _redacted_diff(diffs)
    cost = dict(zip(texts, tokenizer.count_many(list(texts.values())), strict=True))
    room = budget
    diff_room = int(room * DIFF_SHARE)
    chosen: list[FileDiff] = []
    omitted: list[FileDiff] = []
    if sum(cost.values()) <= diff_room:
        chosen = list(diffs)
    else:
        spent = 0
        for d in sorted(diffs, key=lambda d: (-scores.get(d.path, 0.0), cost[d.path], d.path)):
            if spent + cost[d.path] <= diff_room:
                chosen.append(d)
                spent += cost[d.path]
            else:
                omitted.append(d)
        chosen.sort(key=lambda d: diffs.index(d))
    diff_text = "".join(texts[d.path] for d in chosen)
    context_budget = room - sum(cost[d.path] for d in chosen)
    # Without --budget the context is the change's neighbourhood, not whatever else fits the default.
    only = [str(root / p) for p in neighbourhood(index, diffs, impact)] if budget_note else None
    pack = pack_repo(root, dataclasses.replace(settings, budget=context_budget), signals, progress, only=only)
    changed = {d.path for d in diffs}
    files = []
    for decision in sorted(pack.packed.decisions, key=lambda d: d.rank):
        if decision.mode not in BLOCK_MODES:
            continue
        if decision.path in changed:
            reason = "changed"
        elif decision.path in impact:
            reason = ", ".join(impact[decision.path][:3])
        else:
            reason = "ranked"
        files.append(ContextFile(decision.path, decision.mode, reason))
    return ReviewContext(pack, tuple(diffs), diff_text, tuple(omitted), tuple(files), budget, budget_note)


# --- asking ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewRequest:
    messages: list[dict[str, str]]
    context: ReviewContext


def review_prompt(session: Session, target: ReviewTarget, context_text: str, diff_text: str,
                  omitted: Sequence[FileDiff] = ()) -> str:
    """The user message; the title and description are the PR author's words, redacted like files."""
    return render_template("review", session.prompts_dir, context=context_text, diff=diff_text,
                           title=redact_pr_text("title", target.title),
                           description=redact_pr_text("description", target.description),
                           omitted=[f"{d.path} (+{d.additions} -{d.deletions})" for d in omitted])


def prepare(session: Session, target: ReviewTarget, progress: Progress | None = None) -> ReviewRequest:
    """Pack the review's context under the budget and build the messages."""
    system = session.system_prompt()
    # --budget is for the diff plus the repository context; without it, as for ask (budget_choice).
    budget, note = session.budget_choice(review_prompt(session, target, "", ""))
    context = build_context(session.root, session.settings, target, budget, progress, note)
    user = review_prompt(session, target, context.pack.text, context.diff_text, context.omitted)
    known = known_credentials(session.config().api_key)  # the tokens this process holds never go out
    messages = [{"role": "system", "content": scrub_known(system, known)},
                {"role": "user", "content": scrub_known(user, known)}]
    return ReviewRequest(messages, context)


@dataclass(frozen=True)
class ModelAnswer:
    review: ModelReview
    attempts: int
    input_tokens: int | None
    output_tokens: int | None
    notices: tuple[str, ...] = field(default=())


def ask_for_review(config: ClientConfig, messages: Sequence[dict[str, str]],
                   on_notice: Callable[[str], None] | None = None) -> ModelAnswer:
    """Ask; on a reply that is not valid review JSON, ask once more with the error, then fail.

    Notices (retries, the second ask) go to ``on_notice`` as they happen and are kept in the answer.
    """
    notices: list[str] = []

    def notice(message: str) -> None:
        notices.append(message)
        if on_notice is not None:
            on_notice(message)

    history = list(messages)
    tokens_in = tokens_out = 0
    for attempt in (1, 2):
        result = complete_chat(config, history, on_retry=notice, temperature=0)
        tokens_in += result.input_tokens or 0
        tokens_out += result.output_tokens or 0
        try:
            review = parse_review(result.text)
        except InvalidReview as exc:
            if attempt == 2:
                raise ReviewError(f"the model's reply was not valid review JSON twice ({exc}); try another model "
                                  f"or a smaller --budget") from None
            notice(f"the model's reply was not valid review JSON ({exc}); asking once more")
            history += [{"role": "assistant", "content": result.text},
                        {"role": "user", "content": f"That reply could not be used: {exc}. Reply again with only "
                                                    f"the JSON object described above: no prose, no code fence."}]
            continue
        return ModelAnswer(review, attempt, tokens_in or None, tokens_out or None, tuple(notices))
    raise AssertionError("unreachable")


# --- the whole review ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewResult:
    target: ReviewTarget
    context: ReviewContext
    summary: str
    placed: tuple[Placed, ...]
    model: str
    answer: ModelAnswer | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(p.finding for p in self.placed)

    def at_or_above(self, severity: str) -> list[Finding]:
        worst = tuple(Severity).index(severity)
        return [f for f in self.findings if tuple(Severity).index(f.severity) <= worst]


def run_review(session: Session, target: ReviewTarget, progress: Progress | None = None,
               on_notice: Callable[[str], None] | None = None) -> ReviewResult:
    request = prepare(session, target, progress)
    if request.context.budget_note and on_notice is not None:
        on_notice(f"a budget of {request.context.budget:,} tokens: {request.context.budget_note}")
    session.check_cost(session.estimate(request.messages)[1])
    answer = ask_for_review(session.config(), request.messages, on_notice)
    placed = place_findings(answer.review.findings, request.context.diffs)
    return ReviewResult(target, request.context, answer.review.summary, tuple(placed), session.config().model, answer)
