"""File recall of repopack's ranking at token budgets, measured like ``../shared/bench/localize``.

For each task the repository is materialised at ``base_commit`` (``git archive`` into a
temporary directory, no ``.git``, so ranking sees exactly the files of that commit),
repopack ranks its files for the query, and whole files are packed greedily in rank
order: a file costs its token count + 4 and a file that does not fit is skipped.  The
score for a budget is the share of gold files packed.  Candidates are the tracked
regular files up to 1 MB with no NUL byte in their first 8 KiB; ranked paths outside
them are dropped.  Counts use cl100k_base by default, as the benchmark does.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from repopack.config import Settings, load_settings
from repopack.errors import RepoError, RepopackError
from repopack.eval.mine import Task, git, git_toplevel
from repopack.packing.pipeline import rank_repo
from repopack.packing.rank import Signals
from repopack.packing.tokens import Tokenizer
from repopack.util.git import extract_tree
from repopack.util.limits import BINARY_SNIFF_BYTES, MAX_FILE_BYTES

BUDGETS = (8000, 32000, 128000)
FILE_HEADER_TOKENS = 4
DEFAULT_ENCODING = "cl100k_base"


@dataclass(frozen=True)
class TaskResult:
    task: Task
    recall: dict[int, float]  # budget -> share of gold packed
    gold_rank: dict[str, int | None]
    n_files: int
    n_ranked: int
    n_dropped: int
    seconds: float
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.task.id, "source": self.task.source, "ranker": "repopack", "n_files": self.n_files,
                "gold": list(self.task.gold), "n_ranked": self.n_ranked, "n_dropped_paths": self.n_dropped,
                "seconds": round(self.seconds, 3), "error": self.error, "gold_rank": self.gold_rank,
                "recall": {str(b): r for b, r in self.recall.items()},
                "all": {str(b): r == 1.0 for b, r in self.recall.items()}}


@dataclass(frozen=True)
class LocalizeReport:
    budgets: tuple[int, ...]
    results: tuple[TaskResult, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (task id, why)
    encoding: str = ""

    @property
    def scored(self) -> list[TaskResult]:
        return list(self.results)

    def mean_recall(self, budget: int) -> float:
        return sum(r.recall[budget] for r in self.results) / len(self.results) if self.results else 0.0

    def all_share(self, budget: int) -> float:
        return sum(r.recall[budget] == 1.0 for r in self.results) / len(self.results) if self.results else 0.0


@dataclass
class _Counter:
    """Token counts per blob, shared across tasks (the same blob recurs at every base commit)."""

    tokenizer: Tokenizer
    by_key: dict[str, int | None] = field(default_factory=dict)

    def cost(self, key: str, data: bytes) -> int | None:
        """tokens + header, or None for a binary file."""
        if key not in self.by_key:
            binary = b"\0" in data[:BINARY_SNIFF_BYTES]
            self.by_key[key] = None if binary else self.tokenizer.count(data.decode("utf-8", "replace"))
        tokens = self.by_key[key]
        return None if tokens is None else tokens + FILE_HEADER_TOKENS


def greedy_pack(order: Sequence[str], cost: dict[str, int], budget: int) -> set[str]:
    used, packed = 0, set()
    for path in order:
        if used + cost[path] <= budget:
            packed.add(path)
            used += cost[path]
    return packed


def score_order(order: Sequence[str], cost: dict[str, int], gold: Sequence[str],
                budgets: Sequence[int]) -> tuple[dict[int, float], dict[str, int | None]]:
    position = {p: i for i, p in enumerate(order)}
    recall = {}
    for budget in budgets:
        packed = greedy_pack(order, cost, budget)
        recall[budget] = sum(g in packed for g in gold) / len(gold)
    return recall, {g: position.get(g) for g in gold}


def normalise(paths: Sequence[str], valid: dict[str, int]) -> tuple[list[str], int]:
    seen: set[str] = set()
    out: list[str] = []
    dropped = 0
    for raw in paths:
        path = raw.replace("\\", "/").removeprefix("./")
        if path in seen:
            continue
        if path not in valid:
            dropped += 1
            continue
        seen.add(path)
        out.append(path)
    return out, dropped


def materialise(root: Path, commit: str, dest: Path, counter: _Counter) -> dict[str, int]:
    """Write the regular files of ``commit`` under ``dest``; returns candidate path -> cost."""
    listing = git(root, "ls-tree", "-r", "-l", "-z", commit)
    blobs: dict[str, str] = {}
    for record in listing.split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 4 and parts[1] == "blob" and parts[0] != "120000" and parts[3].isdigit() \
                and int(parts[3]) <= MAX_FILE_BYTES:
            blobs[path] = parts[2]
    extract_tree(root, commit, dest, regular_only=True)
    costs: dict[str, int] = {}
    for name, sha in blobs.items():
        try:
            data = dest.joinpath(*PurePosixPath(name).parts).read_bytes()
        except OSError:
            continue
        cost = counter.cost(sha, data)
        if cost is not None:
            costs[name] = cost
    return costs


def worktree_costs(root: Path, counter: _Counter) -> dict[str, int]:
    """Candidates of the work tree as it is: tracked files (git), else every file below root."""
    try:
        names = [n for n in git(root, "ls-files", "-z").split("\0") if n]
    except RepoError:
        names = [p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts]
    costs: dict[str, int] = {}
    for name in names:
        path = root / name
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        data = path.read_bytes()
        cost = counter.cost(hashlib.blake2b(data, digest_size=16).hexdigest(), data)
        if cost is not None:
            costs[name] = cost
    return costs


def _has_commit(root: Path, commit: str) -> bool:
    try:
        git(root, "cat-file", "-e", f"{commit}^{{commit}}")
    except RepoError:
        return False
    return True


def evaluate_localize(path: Path, tasks: Sequence[Task], tokenizer: Tokenizer, budgets: Sequence[int] = BUDGETS,
                      settings: Settings | None = None,
                      on_task: Callable[[TaskResult], None] | None = None) -> LocalizeReport:
    """Rank each task's repository state with repopack and score file recall at each budget."""
    counter = _Counter(tokenizer)
    results: list[TaskResult] = []
    skipped: list[tuple[str, str]] = []
    needs_git = any(t.base_commit for t in tasks)
    root = git_toplevel(path) if needs_git else path
    for task in tasks:
        if task.base_commit and not _has_commit(root, task.base_commit):
            skipped.append((task.id, f"base commit {task.base_commit[:12]} is not in {root}"))
            continue
        with tempfile.TemporaryDirectory(prefix="repopack-localize-") as tmp:
            if task.base_commit:
                tree = Path(tmp) / root.name
                tree.mkdir()
                costs = materialise(root, task.base_commit, tree, counter)
            else:
                tree = path
                costs = worktree_costs(path, counter)
            clock = time.perf_counter()
            error = None
            try:
                tree_settings = settings or load_settings(tree)
                ranked = [r.path for r in rank_repo(tree, tree_settings, Signals(query=task.query))]
            except RepopackError as exc:
                ranked, error = [], str(exc)
            seconds = time.perf_counter() - clock
        order, dropped = normalise(ranked, costs)
        recall, gold_rank = score_order(order, costs, task.gold, budgets)
        result = TaskResult(task, recall, gold_rank, len(costs), len(ranked), dropped, seconds, error)
        results.append(result)
        if on_task:
            on_task(result)
    return LocalizeReport(tuple(budgets), tuple(results), tuple(skipped), tokenizer.name)
