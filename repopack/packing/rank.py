"""Order files by how much a question needs them.

Signals, each scaled to [0, 1]:
- lexical: BM25 of the question against each file's text, and against its path and the
  names it defines (what a file *is* matters more than what it mentions);
- mention: files the question names (paths, tracebacks, dotted modules), files under a
  directory it names by a compound name ('runtime-core'), and files that define identifiers
  the question uses, each weighted by how specific the name is;
- focus: files the user pinned, files changed since a ref, traceback frames;
- graph: personalised PageRank over the file graph, seeded with all of the above, so
  the callers and callees of relevant code rise with it;
- git: a weak prior for recently and often changed files (one `git log`).
Tests, docs and examples get a fixed discount: questions are usually answered by source.
Without any signal, files are ordered by the question-independent PageRank.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from repopack.packing.graph import MAX_DEFINERS, shared_suffix_index
from repopack.util.git import GitError, run_git
from repopack.util.names import display_name, git_unquote

if TYPE_CHECKING:
    import numpy as np

    from repopack.packing.index import RepoIndex

_README = re.compile(r"^readme(\.[a-z0-9]+)?$", re.IGNORECASE)
_MANIFESTS = frozenset({
    "pyproject.toml", "setup.py", "setup.cfg", "package.json", "cargo.toml", "go.mod", "pom.xml",
    "build.gradle", "build.gradle.kts", "gemfile", "composer.json", "cmakelists.txt", "makefile", "tsconfig.json",
})
_ENTRY_STEMS = frozenset({"__main__", "main", "cli", "app", "index", "server", "__init__", "lib", "mod"})
_DOCS = frozenset({"contributing", "architecture", "changelog", "changes", "license", "authors"})
_LOW_DIRS = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "benches",
                       "fixtures", "scripts", "spec", "__tests__", "e2e", "samples"})
_TEST_NAME = re.compile(r"(^test_|_test$|^test$|\.test$|\.spec$|_spec$|Test$|Tests$)")
_PATHLIKE = re.compile(r"(?<![\w.])((?:[\w.-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{0,4})(?![\w/])")
_DOTTED = re.compile(r"\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\b")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODEY = re.compile(r"_|[a-z][A-Z]|^[A-Z][a-z]+[A-Z]")
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(")

REVERSE_EDGE_WEIGHT = 0.5
WEIGHTS = {"lexical": 1.0, "names": 1.0, "mention": 1.0, "focus": 2.0, "graph": 0.35, "git": 0.05}
# Relevance per token, not per file: a budget is spent in tokens, so of two equally likely files the
# smaller one should go first (a knapsack's value density, damped so size never outweighs relevance).
SIZE_EXPONENT = 0.25
SIZE_FLOOR = 200  # tokens; tiny files get no extra boost below this


@dataclass(frozen=True)
class Signals:
    """What a pack is about; every field is optional."""

    query: str | None = None
    focus: tuple[str, ...] = ()  # repo-relative paths the user pinned
    changed: tuple[str, ...] = ()  # files changed in the diff under review
    frames: tuple[tuple[str, int], ...] = ()  # traceback frames (path, line), innermost last
    hunks: tuple[tuple[str, int, int], ...] = ()  # changed line ranges (path, first, last) of the diff

    @property
    def empty(self) -> bool:
        return not (self.query or self.focus or self.changed or self.frames)


@dataclass(frozen=True)
class RankedFile:
    path: str
    score: float
    signals: dict[str, float] = field(default_factory=dict)  # signal name -> contribution

    def why(self) -> str:
        parts = [f"{k} {v:.2f}" for k, v in sorted(self.signals.items(), key=lambda kv: -kv[1]) if v >= 0.005]
        return ", ".join(parts) or "structure"


def _stem(name: str) -> str:
    """PurePosixPath(name).stem, without building a path object (this runs for every file)."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def structural_priority(path: str) -> tuple[int, int, str]:
    parts = path.split("/")
    name = parts[-1].lower()
    depth = len(parts) - 1
    top = parts[0].lower() if depth else ""
    stem = _stem(parts[-1]).lower()
    if _README.match(name):
        tier = 0 if depth == 0 else 5
    elif depth == 0 and name in _MANIFESTS:
        tier = 1
    elif stem in _ENTRY_STEMS and depth <= 2 and top not in _LOW_DIRS:
        tier = 2
    elif is_low_priority(path):
        tier = 6
    elif depth == 0 and stem in _DOCS:
        tier = 7
    else:
        tier = 3
    return tier, depth, path


def structural_order(paths: Sequence[str]) -> list[str]:
    """README, manifests and entry points first: the order when nothing is known yet."""
    return sorted(paths, key=structural_priority)


def is_low_priority(path: str) -> bool:
    """Tests, docs, examples and benchmarks."""
    parts = path.split("/")
    if any(part.lower() in _LOW_DIRS for part in parts[:-1]):
        return True
    return bool(_TEST_NAME.search(_stem(parts[-1])))


_PRIOR_CODE = 1.0
_PRIOR_LOW = 0.35
_PRIOR_TEXT = 0.6  # prose, config and data files


def prior(path: str, language: str | None) -> float:
    if is_low_priority(path):
        return _PRIOR_LOW
    if language in (None, "markdown", "rst", "text", "json", "yaml", "toml", "ini", "xml", "html", "css", "scss"):
        return _PRIOR_TEXT
    return _PRIOR_CODE


def _normalise(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else values


@lru_cache(maxsize=1)
def _path_suffixes(paths: tuple[str, ...]) -> dict[str, list[int]]:
    """'a/b/c.py', 'b/c.py', 'c.py' -> files; kept for the next call (each traceback frame asks again)."""
    by_suffix: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        parts = p.split("/")
        for k in range(len(parts)):
            by_suffix.setdefault("/".join(parts[k:]), []).append(i)
    return by_suffix


def path_mentions(text: str, paths: Sequence[str]) -> dict[int, float]:
    """Files the text names: 'src/app/models.py', 'models.py', '/site-packages/pkg/mod.py', 'pkg.mod'."""
    matches = list(_PATHLIKE.finditer(text))
    dotted = [m.group(1).split(".") for m in _DOTTED.finditer(text)]
    dotted = [parts for parts in dotted if len(parts) >= 2 and parts[-1] not in _NOT_MODULES]
    if not matches and not dotted:
        return {}
    paths = tuple(paths)
    by_suffix = _path_suffixes(paths) if matches else {}
    found: dict[int, float] = {}

    def credit(hits: list[int], weight: float) -> None:
        for i in hits:
            found[i] = max(found.get(i, 0.0), weight / len(hits))

    for match in matches:
        parts = match.group(1).strip("./").split("/")
        for k in range(len(parts)):
            hits = by_suffix.get("/".join(parts[k:]))
            if hits:
                # A longer matched suffix is stronger evidence than a bare file name.
                credit(hits[:8], 1.0 if len(parts) - k > 1 else 0.7)
                break
    suffixes = shared_suffix_index(paths) if dotted else {}
    for parts in dotted:
        for k in (len(parts), len(parts) - 1):
            hits = suffixes.get("/".join(parts[:k]))
            if hits and len(hits) <= 4 and k >= 2:
                credit(hits, 0.6)
                break
    return found


DIR_MENTION = 1.0  # a file in a directory the question names, at full specificity
# A directory's name as the question writes it, and only a compound one ('runtime-core', 'db_utils',
# 'webApp'): a plain word ('data', 'core') is as often just English.
_DIR_WORD = re.compile(r"(?<![\w./-])([A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*)(?![\w/-])")


def directory_mentions(text: str, paths: Sequence[str], defined: Container[str] = ()) -> dict[int, float]:
    """Files under a directory the question names by its own name ('runtime-core'), weighted by how
    few of the repository's files that name covers.  A name the code defines (`defined`) is taken
    for the identifier: 'select_related' is Django's method before it is its tests' directory."""
    words = {w for w in _DIR_WORD.findall(text) if w not in defined}
    if not words:
        return {}
    under: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(paths):
        parts = p.split("/")[:-1]
        for name in set(parts):
            if name in words:
                under[name].append(i)
    n = max(1, len(paths))
    found: dict[int, float] = {}
    for files in under.values():
        if len(files) >= n:
            continue
        specificity = math.log(1 + n / len(files)) / math.log(1 + n)
        for i in files:
            found[i] = max(found.get(i, 0.0), DIR_MENTION * specificity)
    return found


_NOT_MODULES = frozenset(("py", "js", "ts", "go", "rs", "java", "rb", "php", "com", "org"))  # file names, hosts


def query_identifiers(text: str) -> dict[str, float]:
    """Identifiers in the question, weighted by how code-like their use is."""
    weights: dict[str, float] = {}

    def bump(name: str, w: float) -> None:
        weights[name] = max(weights.get(name, 0.0), w)

    for name in _IDENT.findall(text):
        bump(name, 1.0 if _CODEY.search(name) else 0.3)
    for chunk in _BACKTICKED.findall(text):
        for name in _IDENT.findall(chunk):
            bump(name, 1.0)
    for name in _CALLED.findall(text):
        bump(name, 1.0)
    for dotted in _DOTTED.findall(text):
        bump(dotted.rsplit(".", 1)[-1], 0.8)
    return weights


def symbol_mentions(text: str, index: RepoIndex) -> dict[int, float]:
    definers = index.graph.definers
    n = max(1, len(index.files))
    scores: dict[int, float] = defaultdict(float)
    for name, w in query_identifiers(text).items():
        files = definers.get(name)
        if not files or len(files) > MAX_DEFINERS or len(name) < 3:
            continue
        specificity = math.log(1 + n / len(files)) / math.log(1 + n)
        for i in files:
            scores[i] += w * specificity / math.sqrt(len(files))
    return dict(scores)


def _log_scores(root: Path, max_commits: int = 300) -> dict[str, float]:
    """Each file named in the last commits, scored by how recently and often it changed; {} outside git."""
    try:
        log = run_git(root, "-c", "core.quotepath=off", "log", f"-n{max_commits}", "--no-merges", "--name-only",
                      "--format=%x00", "--relative", timeout=20)
    except GitError:
        return {}
    score: dict[str, float] = defaultdict(float)
    for age, commit in enumerate(log.split("\0")[1:]):
        for line in commit.split("\n"):
            if not line:
                continue
            # one name per line (spaces included); names with control bytes come C-quoted
            name = git_unquote(line) if line.startswith('"') else display_name(line.encode("utf-8", "surrogateescape"))
            score[name] += 1.0 / (1 + age / 50)
    return score


def _activity_of(score: dict[str, float], paths: Sequence[str]) -> dict[str, float]:
    wanted = set(paths)
    score = {p: s for p, s in score.items() if p in wanted}
    top = max(score.values(), default=0.0)
    return {p: s / top for p, s in score.items()} if top else {}


def git_activity(root: Path, paths: Sequence[str], max_commits: int = 300) -> dict[str, float]:
    """How recently and often each file changed, from one `git log` call; empty outside git."""
    return _activity_of(_log_scores(root, max_commits), paths)


class GitActivity:
    """`git log` run in a background thread from the start of a pack (it is a separate process:
    it runs on another core while the walk and the index work), read when ranking needs it."""

    def __init__(self, root: Path) -> None:
        import threading

        self.root = root
        self._score: dict[str, float] | None = None
        self._thread = threading.Thread(target=self._run, name="repopack-git-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._score = _log_scores(self.root)
        except Exception:  # noqa: BLE001 - read() runs it again in the foreground and reports the error
            self._score = None

    def join(self) -> None:
        self._thread.join()

    def read(self, paths: Sequence[str]) -> dict[str, float]:
        self._thread.join()
        return _activity_of(self._score, paths) if self._score is not None else git_activity(self.root, paths)


def rank_files(index: RepoIndex, signals: Signals, root: Path | None = None,
               activity: GitActivity | None = None) -> list[RankedFile]:
    """`activity`: the git history of `root`, when it was started early (see GitActivity)."""
    import numpy as np

    from repopack.packing.lexical import query_weights

    n = len(index.files)
    if n == 0:
        return []
    paths = index.paths
    priors = np.array([prior(f.path, f.language) for f in index.files])
    parts: dict[str, np.ndarray] = {}
    if signals.query:
        q = query_weights(signals.query)
        parts["lexical"] = _normalise(np.array(index.content_bm25.scores(q)))
        parts["names"] = _normalise(np.array(index.name_bm25.scores(q)))
        mention = np.zeros(n)
        for i, w in path_mentions(signals.query, paths).items():
            mention[i] += w
        for i, w in symbol_mentions(signals.query, index).items():
            mention[i] += w
        mention = _normalise(mention)
        if DIR_MENTION:  # not normalised: naming a directory says less than naming a file
            for i, w in directory_mentions(signals.query, paths, index.graph.definers).items():
                mention[i] += w
        parts["mention"] = mention
    focus = np.zeros(n)
    for group, weight in ((signals.focus, 1.0), (signals.changed, 1.0)):
        for p in group:
            if p in index.position:
                focus[index.position[p]] = max(focus[index.position[p]], weight)
    for depth, (p, _line) in enumerate(reversed(signals.frames)):
        for i, w in path_mentions(p, paths).items():
            focus[i] = max(focus[i], w * (0.9 ** depth))  # innermost frames matter most
    if focus.any():
        parts["focus"] = focus

    seed = sum((WEIGHTS[k] * v for k, v in parts.items()), np.zeros(n)) * priors
    if seed.any():
        parts["graph"] = _normalise(_personalised(index, seed))
    else:
        parts["graph"] = _normalise(index.graph.base_rank.copy())
    if root is not None:
        changed = activity.read(paths) if activity is not None and activity.root == root else git_activity(root, paths)
        if changed:
            parts["git"] = np.array([changed.get(p, 0.0) for p in paths])

    total = np.zeros(n)
    contributions: dict[str, np.ndarray] = {}
    for name, values in parts.items():
        contributions[name] = WEIGHTS[name] * values * priors
        total += contributions[name]
    total = total / np.power(np.maximum(np.asarray(index.tokens, dtype=np.float64), SIZE_FLOOR), SIZE_EXPONENT)
    totals = total.tolist()
    order = sorted(range(n), key=lambda i: (-totals[i], paths[i]))
    shares = {k: v.tolist() for k, v in contributions.items()}  # Python floats: no numpy scalar per file
    return [RankedFile(paths[i], totals[i], {k: v[i] for k, v in shares.items() if v[i] > 0}) for i in order]


def _personalised(index: RepoIndex, seed: np.ndarray) -> np.ndarray:
    import numpy as np

    from repopack.packing.graph import pagerank

    # Sharpen the seed so a few strong matches steer the walk rather than a long tail of weak ones.
    sharpened = np.power(seed / seed.max(), 2)
    # Walk both ways: what relevant code calls matters, and so do its callers (the impact of a change).
    matrix = index.graph.matrix
    return pagerank(matrix + REVERSE_EDGE_WEIGHT * matrix.T.tocsr(), sharpened)
