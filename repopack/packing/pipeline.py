"""Wire the stages: walk → redact → index (count, parse) → rank → skeleton → fit → render.

`pack_repo` is the one entry point the CLI, the TUI, the session and review use.  Secrets
are redacted per file *before* counting, so token counts (and the budget guarantee) are
for the text that is actually rendered and sent.  Without a budget and without signals
every file goes in whole, so nothing is parsed: ranking only matters when choosing.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from repopack.config import Settings
from repopack.errors import BudgetError, OutputError, RepoError
from repopack.packing import reuse as reuse_store
from repopack.packing.cache import Cache
from repopack.packing.filelist import resolve_listed
from repopack.packing.fit import Candidate, Focus, Packed, fit_files
from repopack.packing.history import HistoryRequest, history_blocks
from repopack.packing.images import ImagePlan, attach_section, plan_for
from repopack.packing.known import KnownFiles
from repopack.packing.rank import GitActivity, RankedFile, Signals, prior, rank_files, structural_order
from repopack.packing.redaction import Redaction, SecretFinding, SecretSpan
from repopack.packing.render import ExtraBlock, render_document, render_extra
from repopack.packing.tokens import Tokenizer, get_tokenizer
from repopack.packing.walk import (
    SkippedFile,
    SourceFile,
    TextChanged,
    WalkResult,
    WalkRules,
    list_candidates,
    resolve_root,
    walk_repo,
)
from repopack.util.collector import collector_paused
from repopack.util.git import GitError, run_git, run_git_bytes
from repopack.util.lazy import defer
from repopack.util.names import display_name, git_unquote
from repopack.util.progress import Progress

if TYPE_CHECKING:
    from repopack.packing.index import RepoIndex

SKELETON_HORIZON = 4  # skeletons are prepared for ranked files worth this many budgets of full text
FOCUS_FILES = 40  # the best-ranked files with definitions get focused versions


@dataclass(frozen=True)
class PackResult:
    root: Path
    packed: Packed
    walk: WalkResult
    tokenizer: Tokenizer
    ranking: tuple[RankedFile, ...]
    findings: tuple[SecretFinding, ...] = ()
    redactions: Mapping[str, Redaction] = field(default_factory=dict, repr=False)
    file_tokens: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    reuse_key: tuple[str, str] | None = None  # set by pack_repo(reuse=True): see reuse.remember
    images: ImagePlan = field(default_factory=ImagePlan)  # images chosen for the question (packing/images.py)
    text_file: reuse_store.StoredText | None = None  # a reused pack: its text is in this file, read on demand

    @property
    def text(self) -> str:
        if self.text_file is None:
            return self.packed.text
        try:
            return self.text_file.read()
        except (OSError, UnicodeDecodeError):
            raise OutputError(f"{self.text_file.path} changed while the pack it holds was reused; "
                              "run the command again") from None



def walk_rules(settings: Settings) -> WalkRules:
    return WalkRules(include=settings.include, exclude=settings.exclude, max_file_bytes=settings.max_file_bytes,
                     default_excludes=settings.default_excludes, include_sensitive=settings.include_sensitive)


def changed_files(root: Path, base: str) -> tuple[str, ...]:
    """Files that differ from `base` in the work tree (committed or not), plus untracked ones."""
    def git(*args: str) -> list[bytes]:
        return run_git_bytes(root, *args, what=f"--diff {base}", timeout=60).split(b"\0")

    names = git("diff", "--name-only", "-z", "--ignore-submodules=dirty", "--relative", base, "--")
    names += git("ls-files", "--others", "--exclude-standard", "-z")
    return tuple(sorted({display_name(n) for n in names if n}))


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_hunks(root: Path, base: str) -> tuple[tuple[str, int, int], ...]:
    """The line ranges of the work tree that differ from `base` (path, first, last); () without git."""
    try:
        out = run_git(root, "-c", "core.quotepath=off", "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv",
                      "--ignore-submodules=dirty", "--relative", base, "--", what=f"--diff {base}", timeout=60)
    except GitError:
        return ()
    hunks: list[tuple[str, int, int]] = []
    path: str | None = None
    for line in out.split("\n"):
        if line.startswith("+++ "):
            name = line[4:].split("\t", 1)[0]
            # git quotes names with control bytes ("b/a\tb.py"); other bytes come raw (quotepath=off)
            shown = git_unquote(name) if name.startswith('"') else display_name(name.encode("utf-8", "surrogateescape"))
            path = shown[2:] if shown.startswith("b/") else None
            continue
        m = _HUNK.match(line)
        if m and path is not None:
            first, count = int(m.group(1)), int(m.group(2) or 1)
            hunks.append((path, max(first, 1), max(first, 1) + max(count, 1) - 1))
    return tuple(hunks)


class _Scan:
    """Secret scanning, with verdicts cached by what they depend on: the content, the rules'
    version and the file class of the path (`scan.verdict_key`).

    A cached verdict holds the spans (line, columns, type) and never a secret value; the
    redacted text is rebuilt from the file's own text.  A row of the wrong shape is a miss.
    """

    def __init__(self, files: tuple[SourceFile, ...], cache: Cache) -> None:
        from repopack.packing.scan import rules_version, verdict_key

        self.files = files
        self.cache = cache
        self.ns = Cache.namespace("secrets", rules_version())
        self.keys = [verdict_key(f.digest, f.path) for f in files]
        self.known = cache.get_many(self.ns, self.keys, VERDICT_SCHEMA)

    def result(self) -> tuple[tuple[SourceFile, ...], dict[str, Redaction]]:
        from repopack.packing.redaction import apply_spans, valid_spans

        fresh: dict[str, list[tuple[int, int, int, str]]] = {}
        out: list[SourceFile] = []
        redactions: dict[str, Redaction] = {}
        for f, key in zip(self.files, self.keys, strict=True):
            spans = _spans_from_row(self.known.get(key)) if key in self.known else None
            # A cached "no secrets" needs no text: the verdict is of exactly these bytes (digest).
            if spans is None or (spans and not valid_spans(f.text, spans)):
                from repopack.packing.scan import find_secrets  # the rules compile only when something is new

                spans = find_secrets(f.path, f.text)
                fresh[key] = [(s.line, s.start, s.end, s.type) for s in spans]
            if not spans:
                out.append(f)
                continue
            redaction = apply_spans(f.path, f.text, spans, keep_values=False)
            redactions[f.path] = redaction
            out.append(dataclasses.replace(f, text=redaction.text, digest=f.digest + "-r"))
        self.cache.put_many(self.ns, fresh)
        return tuple(out), redactions


VERDICT_SCHEMA = list[tuple[int, int, int, str]]  # a cached verdict: (line, start, end, type) per span


def _spans_from_row(row: object) -> list[SecretSpan] | None:
    """Spans from a cached row (already decoded against VERDICT_SCHEMA), or None."""
    if not isinstance(row, list):
        return None
    return [SecretSpan(line, start, end, secret_type) for line, start, end, secret_type in row]


def redact_files(files: tuple[SourceFile, ...], cache: Cache) -> tuple[tuple[SourceFile, ...], dict[str, Redaction]]:
    """Redact secrets file by file, with verdicts cached (see `_Scan`).

    A Redaction returned here has no secret values: code that must restore a secret
    (apply) re-scans that one file with `redact_text`.
    """
    return _Scan(files, cache).result()


def _candidates(index: RepoIndex, ranking: list[RankedFile], budget: int | None,
                signals: Signals | None = None) -> list[Candidate]:
    order = [index.position[r.path] for r in ranking]
    skeletons: dict[int, tuple[str, int]] = {}
    focus: dict[int, tuple[Focus, ...]] = {}
    evidence: dict[int, float] | None = None  # definition-level evidence per focused file (see focus_files)
    if budget is not None:
        horizon, spent = SKELETON_HORIZON * budget, 0
        wanted: list[int] = []
        for i in order:
            if spent > horizon and len(wanted) >= 30:
                break
            spent += index.tokens[i]
            wanted.append(i)
        has_defs = index.has_definitions(wanted)
        with_defs = [i for i in wanted if has_defs[i]]
        skeletons = index.skeletons(with_defs)
        if signals is not None:
            from repopack.packing.focus import focus_files

            ranks = {i: r for r, i in enumerate(order[: len(wanted)])}
            focus, evidence = focus_files(index, with_defs[:FOCUS_FILES], ranks, signals,
                                          {i: t for i, (_text, t) in skeletons.items()})
            evidence = evidence or None
    cands = []
    top = ranking[0].score if ranking else 0.0
    for rank, (r, i) in enumerate(zip(ranking, order, strict=True)):
        f = index.files[i]
        skel = skeletons.get(i)
        cand = Candidate(f.path, f.language, "", index.tokens[i], r.score, skel[0] if skel else None,
                         skel[1] if skel else None,
                         file_value(rank, r.score / top if top > 0 else 1.0,
                                    1.0 if evidence is None else evidence_factor(evidence.get(i)),
                                    r.signals.get("lexical", 0.0)),
                         focus.get(i, ()))
        defer(cand, "full_text", partial(index.body, i))  # read and numbered only if it goes in whole
        cands.append(cand)
    return cands


_RANKING_MODULES = ("numpy", "scipy.sparse")


def preload_ranking_modules() -> threading.Thread | None:
    """Import what ranking needs in a background thread (about 0.15 s of CPU, most of a warm pack's
    fixed cost), so it overlaps the walk's waits on the file system.  Python's import locks
    make a later import of the same module wait for this one rather than run twice.  The caller
    joins the thread once the walk is done (token counting forks only when no other thread runs)."""
    import sys

    if all(name in sys.modules for name in _RANKING_MODULES):
        return None

    def load() -> None:
        import importlib

        for name in _RANKING_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:  # the foreground import reports it
                return

    thread = threading.Thread(target=load, name="repopack-preload", daemon=True)
    thread.start()
    return thread


NO_EVIDENCE = 0.35  # the evidence factor of a file whose definitions were not scored (or that has none)
MIN_EVIDENCE = 0.02
LEXICAL_VALUE = 2.0  # how much a file's lexical match adds to its value (see file_value)


def evidence_factor(evidence: float | None) -> float:
    """How a file's value scales with its best definition's match to the question, as a share of the
    best of any focused file (None: its definitions were not scored, or it has none)."""
    return NO_EVIDENCE if evidence is None else math.sqrt(max(evidence, MIN_EVIDENCE))


def file_value(rank: int, confidence: float = 1.0, factor: float = 1.0, lexical: float = 0.0) -> float:
    """How likely the question needs the file at this 0-based rank, whose score is `confidence`
    times the top file's; `factor`: its `evidence_factor` when definitions were scored; `lexical`:
    its share of the ranking's lexical signal (its text's BM25 match to the question over the best
    file's, times its prior: 0 to 1).

    Measured on the visible benchmark (148 tasks, share of the gold lines in the file at each rank):
    the rank alone says 40 % at the top, then 18 %, 9 %, and about 0.5 % per rank around rank 15;
    how close a file's score comes to the top one's says as much again (beyond rank 2, files at a
    quarter of the top score hold 1.5 % of the lines, at three quarters 6.5 %), and so does the
    best definition (at the top rank, 61 % when it is the best definition of all, 10 % when it
    scores half of that).  This form fits all three (Poisson deviance over the top 60 files of each
    task: rank only 477, with confidence 462, with evidence too 449).

    The rank term falls faster than that calibration, (1 + rank) ** 0.7 * (1 + rank / 4) rather than
    sqrt(1 + rank) * (1 + rank / 8): the fitter multiplies a file's value by the share its first
    definitions are expected to hold, and those shares run high (the best unit of a gold file: 37 %
    predicted, 28 % held), so calibrated file values spread a small budget over the first steps of
    too many files.  Measured on pack_recall's 148 tasks, lines at 8k / 32k / 128k: 66.3 / 84.0 / 98.2
    -> 67.8 / 84.8 / 98.2 (sqrt(1 + rank) * (1 + rank / 2): 67.6 / 84.8; steeper still loses at 128k).

    The text's own match counts once more, (1 + LEXICAL_VALUE * lexical): the ranking orders files by
    relevance per token (its score is divided by size ** 0.25) and the fitter charges every token
    again, so without it a big file that matches the question best is discounted twice.  Of all the
    ranking's signals tried as extra factors in a replay of the fitter (names, mentions, graph, git,
    unsized scores), only this one gained at 8k and 32k without costing SWE-bench's tasks; its form
    matters little (1 + lexical to 1 + 3 lexical: within 0.2).  pack_recall lines at 8k / 32k / 128k:
    68.4 / 85.5 / 98.2 -> 69.6 / 86.4 / 97.8.
    """
    lexical_match = 1 + LEXICAL_VALUE * max(lexical, 0.0)
    return max(confidence, 0.0) * factor * lexical_match / ((1 + rank) ** 0.7 * (1 + rank / 4))


def pack_repo(path: str | Path, settings: Settings, signals: Signals | None = None,
              progress: Progress | None = None, diff_base: str | None = None,
              reuse: bool = False, history: HistoryRequest | None = None,
              only: Sequence[str] | None = None) -> PackResult:
    """Pack a repository.  `reuse`: return the stored result of an identical earlier pack of an
    unchanged tree (its walk has no file texts: for callers that only report, like the CLI); a fresh
    result then carries the key for `reuse.remember`, called once its text is written.
    `history`: git diff / log blocks inside the budget.  `only`: pack exactly these files
    (names as given, relative to the current directory or absolute; see `filelist`)."""
    with collector_paused():  # a pack makes many short-lived objects and few cycles: see util.collector
        return _pack_repo(path, settings, signals, progress, diff_base, reuse, history, only)


def _pack_repo(path: str | Path, settings: Settings, signals: Signals | None, progress: Progress | None,
               diff_base: str | None, reuse: bool, history: HistoryRequest | None,
               only: Sequence[str] | None) -> PackResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    root = resolve_root(path)
    signals = signals or Signals()
    if diff_base:
        signals = dataclasses.replace(signals, changed=signals.changed + changed_files(root, diff_base),
                                      hunks=signals.hunks + changed_hunks(root, diff_base))
    rules = walk_rules(settings)
    history = history if history is not None and not history.empty else None
    # An unredacted pack is never kept; git history and explicit lists are not in the tree's fingerprint.
    reusable = reuse and settings.cache and settings.redact and history is None and only is None
    helpers: list[threading.Thread | GitActivity] = []
    activity = None

    def start_helpers() -> None:
        """Ranking's modules and git history, loaded beside the listing and the walk."""
        nonlocal activity
        thread = preload_ranking_modules()
        activity = GitActivity(root)
        helpers.extend(h for h in (thread, activity) if h is not None)

    ranks = settings.budget is not None or not signals.empty
    with Cache(enabled=bool(reusable), max_bytes=settings.cache_max) as cache:
        if ranks and not (reusable and reuse_store.stored(cache, root, settings, signals)):
            start_helpers()  # a new question: no stored pack can be reused, so ranking will run
        listed_skips: list[SkippedFile] = []
        if only is not None:
            names, listed_skips = resolve_listed(root, only)
            rules = dataclasses.replace(rules, default_excludes=False)
            listed: tuple[list[str], bool] = (names, False)
        else:
            listed = list_candidates(root, rules)
        reuse_key = None
        lstats: dict[str, os.stat_result] | None = None  # taken for the fingerprint, used again by the walk
        stats_ns = time.time_ns()  # before any lstat of this pack: the read time the walk records (known.py)
        if reusable:
            lstats = {}
            earlier, text, _packed_before, reuse_key = reuse_store.load(cache, root, settings, signals, listed[0],
                                                                        lstats)
            if earlier is not None:
                text_file = text if isinstance(text, reuse_store.StoredText) else None
                packed = earlier.packed if isinstance(text, reuse_store.StoredText) else \
                    dataclasses.replace(earlier.packed, text=text)
                # The key stays: writing the output again changes its stat, which `remember` then records.
                return PackResult(root, packed, earlier.walk, get_tokenizer(settings.encoding), earlier.ranking,
                                  earlier.findings, {}, earlier.file_tokens, {"reused": 0.0}, reuse_key,
                                  text_file=text_file)
    lap("list")  # the candidate files, and whether an identical earlier pack can be reused
    if ranks and not helpers:
        start_helpers()  # not reused after all (a file changed): while the walk waits on the disk

    def pack_tree(trust_stat: bool) -> PackResult:
        with Cache(enabled=settings.cache, max_bytes=settings.cache_max) as cache:
            shared = (lstats, stats_ns) if trust_stat and lstats is not None else None
            walked = _walk(root, rules, listed, progress, cache, trust_stat, shared)
            if listed_skips:
                walked = dataclasses.replace(walked, skipped=(*listed_skips, *walked.skipped))
            for helper in helpers:
                helper.join()  # done by now as a rule; forked token counting needs a single thread
            lap("walk")
            if not walked.files:
                reason = "no files" if not walked.skipped else f"all {len(walked.skipped)} files were skipped"
                raise RepoError(f"nothing to pack in {root}: {reason}")
            return _pack_walked(root, walked, cache, settings, signals, history, reuse_key, lap, timings, progress,
                                activity)

    try:
        return pack_tree(trust_stat=True)
    except TextChanged:
        return pack_tree(trust_stat=False)  # a file changed during the pack: read every file again


def _walk(root: Path, rules: WalkRules, listed: tuple[list[str], bool], progress: Progress | None, cache: Cache,
          trust_stat: bool, shared: tuple[dict[str, os.stat_result], int] | None = None) -> WalkResult:
    """Walk; with the cache, files whose stat vouches for their digest are read only when used
    (`known`), and what this walk read is recorded for the next one.  `shared`: lstats taken for
    reuse's fingerprint and the time just before them (what a read is dated by must not be later
    than the stat it is recorded with)."""
    lstats, started = shared if shared is not None else (None, time.time_ns())
    if not cache.enabled:
        return walk_repo(root, rules, listed, progress, lstats=lstats)
    known = KnownFiles.load(cache, root, started) if trust_stat else KnownFiles(str(root), read_ns=started)
    walked = walk_repo(root, rules, listed, progress, known, lstats)
    known.save(cache)
    return walked


def _pack_walked(root: Path, walked: WalkResult, cache: Cache, settings: Settings, signals: Signals,
                 history: HistoryRequest | None, reuse_key: tuple[str, str] | None, lap: Callable[[str], None],
                 timings: dict[str, float], progress: Progress | None,
                 activity: GitActivity | None = None) -> PackResult:
    from repopack.packing.index import MemoTokenizer, build_index  # not needed to reuse a pack

    tokenizer = get_tokenizer(settings.encoding)
    files, redactions = redact_files(walked.files, cache) if settings.redact else (walked.files, {})
    lap("redact")
    needs_ranking = settings.budget is not None or not signals.empty
    index = build_index(files, tokenizer, cache, line_numbers=settings.line_numbers, progress=progress,
                        scope=str(root))
    lap("index")
    if needs_ranking:
        _ = index.snapshot  # derived from the last snapshot: what changed is read or parsed
        lap("snapshot")
    ranking = rank_files(index, signals, root, activity) if needs_ranking else _structural_ranking(index)
    lap("rank")
    images = plan_for(root, settings, signals, walked.skipped,
                      lambda n: [(r.path, index.body(index.position[r.path])) for r in ranking[:n]])
    text_budget = images.text_budget(settings.budget, settings.format, tokenizer)
    cands = _candidates(index, ranking, text_budget, signals)
    extras: tuple[ExtraBlock, ...] = ()
    history_findings: tuple[SecretFinding, ...] = ()
    if history is not None:
        limit = None if text_budget is None else text_budget // 2
        extras, history_findings = history_blocks(root, history, walked, tokenizer, settings.format, limit,
                                                  settings.redact)
    packed = _fit_with_extras(cands, text_budget, settings, MemoTokenizer(tokenizer, cache),  # type: ignore[arg-type]
                              root.name, signals.query, extras)
    packed = attach_section(packed, images, settings.budget, tokenizer)
    lap("fit")
    findings = tuple(f for r in redactions.values() for f in r.findings) + history_findings
    return PackResult(root, packed, walked, tokenizer, tuple(ranking), findings, redactions,
                      {f.path: t for f, t in zip(files, index.tokens, strict=True)}, timings, reuse_key, images)


def _fit_with_extras(cands: Sequence[Candidate], budget: int | None, settings: Settings, tokenizer: Tokenizer,
                     repo_name: str, query: str | None, extras: tuple[ExtraBlock, ...]) -> Packed:
    """Fit the files into what the history blocks leave of the budget, then count the whole
    prompt exactly; too long (BPE merges at the seams) means refit with the overshoot reserved."""
    def fit(room: int | None) -> Packed:
        return fit_files(cands, room, tokenizer, repo_name=repo_name, fmt=settings.format, order=settings.order,
                         query=query)

    if not extras:
        return fit(budget)
    reserve = sum(tokenizer.count_many([render_extra(e, settings.format) for e in extras]))
    for _ in range(4):
        if budget is not None and reserve >= budget:
            break
        try:
            packed = fit(None if budget is None else budget - reserve)
        except BudgetError:
            break
        doc = dataclasses.replace(packed.document, extras=extras)
        text = render_document(doc)
        if budget is None and len(text) >= 2_000_000:
            total = packed.tokens + reserve  # blocks add up (see fit._count_document)
        else:
            total = tokenizer.count(text)
        if budget is None or total <= budget:
            return dataclasses.replace(packed, text=text, tokens=total, budget=budget, document=doc)
        reserve += total - budget
    raise BudgetError(f"a budget of {budget} tokens cannot hold the prompt header and the git history blocks "
                      f"({reserve} tokens); use a larger --budget or a smaller --include-log")


def index_repo(path: str | Path, settings: Settings, *,
               progress: Progress | None = None) -> tuple[Path, WalkResult, RepoIndex]:
    """Walk, redact and index: for ranking and maps.  The index (and so the cache and whatever
    a map prints) holds redacted text only, as a pack does.

    The index keeps its cache handle; it reconnects on demand and the caller may close it.
    """
    from repopack.packing.index import build_index

    root = resolve_root(path)
    walked = walk_repo(root, walk_rules(settings))
    if not walked.files:
        raise RepoError(f"nothing to rank in {root}: no packable files")
    cache = Cache(enabled=settings.cache, max_bytes=settings.cache_max)
    files = redact_files(walked.files, cache)[0] if settings.redact else walked.files
    walked = dataclasses.replace(walked, files=files)
    index = build_index(files, get_tokenizer(settings.encoding), cache, progress=progress, scope=str(root))
    return root, walked, index


def rank_repo(path: str | Path, settings: Settings, signals: Signals, diff_base: str | None = None,
              progress: Progress | None = None) -> list[RankedFile]:
    root, _walked, index = index_repo(path, settings, progress=progress)
    if diff_base:
        signals = dataclasses.replace(signals, changed=signals.changed + changed_files(root, diff_base))
    try:
        return rank_files(index, signals, root)
    finally:
        index.cache.close()


def _structural_ranking(index: RepoIndex) -> list[RankedFile]:
    order = structural_order(list(index.paths))
    n = len(order)
    by_path = {f.path: f for f in index.files}
    return [RankedFile(p, (n - r) / n * prior(p, by_path[p].language), {}) for r, p in enumerate(order)]
