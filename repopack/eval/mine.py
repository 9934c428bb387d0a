"""Localisation tasks from a repository's own history.

Each qualifying commit becomes a task: its message (trailers removed) is the query, the
source files it modified are the gold files, and its parent is the base commit the
ranking must see.  Skipped: merges and root commits, commits that change more than
``max_files`` files, commits that modify no source file (tests, docs, examples, CI,
configs do not count as source; the commit may touch them too), messages shorter than
``min_message`` characters, releases, bumps, reverts, formatting and ``chore:``-style
commits, and bot authors.  The rules follow ``../shared/bench/localize/mine.py`` so the
tasks measure the same thing as the benchmark.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from repopack.errors import RepoError, UsageError
from repopack.util.git import run_git
from repopack.util.limits import MAX_FILE_BYTES

DEFAULT_MAX_FILES = 10
MIN_MESSAGE_CHARS = 20

SOURCE_EXT = frozenset(
    ".py .pyi .pyx .go .rs .c .h .cc .cpp .cxx .hpp .hh .java .kt .kts .scala .rb .php .cs "
    ".swift .m .mm .js .mjs .cjs .jsx .ts .mts .cts .tsx .vue .svelte .lua .vim .sh .bash .zsh "
    ".fish .ps1 .pl .ex .exs .erl .hs .ml .clj .dart .zig .nim .jl .r".split())
NON_SOURCE_DIRS = frozenset(
    "test tests testing __tests__ __mocks__ __snapshots__ testdata test-data test_data fixtures "
    "spec specs e2e dts-test doc docs documentation examples example samples benches benchmark "
    "benchmarks bench benchsuite .github .circleci .gitlab .ci ci .devcontainer".split())
TEST_FILE = re.compile(
    r"(^test_.*\.py$|.*_test\.py$|^conftest\.py$|.*_test\.go$|.*\.(test|spec)(-d)?\.[cm]?[jt]sx?$"
    r"|^tests?\.rs$)", re.I)
CONFIG_FILE = re.compile(r"(^\.|.*\.config\.[cm]?[jt]s$|^(setup|noxfile|fabfile)\.py$)", re.I)
TRAILER = re.compile(
    r"^\s*(signed-off-by|co-authored-by|reviewed-by|acked-by|tested-by|reported-by|suggested-by|"
    r"helped-by|cc|change-id|reviewed-on|pr-url)\s*:", re.I)
SKIP_SUBJECT = (
    re.compile(r"^(chore|ci|docs?|test|tests|build|style|release|deps|dep|revert|wip)(\(.*?\))?!?:", re.I),
    re.compile(r"^(release|releasing|bump|prepare|merge|revert|version|changelog|update changelog)\b", re.I),
    re.compile(r"\b(typo|typos|bump|bumped|bumps|reformat|reformatted|formatting|lint|linting|linter|"
               r"rustfmt|gofmt|fmt|clippy|prettier|black|isort|ruff|pre-commit|revert|release)\b", re.I),
    re.compile(r"^[\w.-]*v?\d+\.\d+(\.\d+)?([-.]?(rc|alpha|beta|a|b)\.?\d*)?$", re.I),
)
BOT = re.compile(r"\[bot\]|dependabot|renovate|github-actions|pre-commit-ci|greenkeeper|snyk-bot|"
                 r"allcontributors|semantic-release", re.I)


@dataclass(frozen=True)
class Task:
    """A localisation task: find ``gold`` for ``query`` in the repository at ``base_commit``."""

    id: str
    query: str
    gold: tuple[str, ...]
    base_commit: str | None = None  # None: the work tree as it is
    commit: str | None = None  # the change itself; rankers never see it
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "base_commit": self.base_commit, "commit": self.commit,
                               "query": self.query, "gold": list(self.gold), "source": self.source}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Task:
        if not isinstance(data, dict):
            raise UsageError(f"{where}: a task is a JSON object with 'query' and 'gold'")
        query, gold = data.get("query"), data.get("gold")
        if not isinstance(query, str) or not query.strip():
            raise UsageError(f"{where}: 'query' must be a non-empty string")
        if not isinstance(gold, list) or not gold or not all(isinstance(g, str) for g in gold):
            raise UsageError(f"{where}: 'gold' must be a non-empty list of paths")
        base = data.get("base_commit")
        return cls(str(data.get("id") or where), query, tuple(gold), str(base) if base else None,
                   data.get("commit"), str(data.get("source", "")))


def is_source(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if PurePosixPath(name).suffix.lower() not in SOURCE_EXT:
        return False
    if any(p.lower() in NON_SOURCE_DIRS for p in parts[:-1]):
        return False
    return not (TEST_FILE.match(name) or CONFIG_FILE.match(name))


def clean_message(message: str) -> str:
    lines = [line.rstrip() for line in message.replace("\r\n", "\n").split("\n")]
    text = "\n".join(line for line in lines if not TRAILER.match(line)).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def message_ok(text: str, min_chars: int = MIN_MESSAGE_CHARS) -> bool:
    subject = text.split("\n", 1)[0].strip()
    return len(text) >= min_chars and not any(p.search(subject) for p in SKIP_SUBJECT)


def git(root: Path, *args: str) -> str:
    return run_git(root, *args, what=f"git {' '.join(args[:2])} in {root}")


def git_toplevel(path: Path) -> Path:
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except RepoError:
        raise RepoError(f"{path} is not inside a git repository (mining needs its history)") from None


def _commits(root: Path, since: str, head: str) -> Iterator[tuple[str, list[str], str, str, str]]:
    """(sha, parents, author name, author email, message), newest first."""
    out = git(root, "log", "-z", "--date-order", "--format=%H%x01%P%x01%an%x01%ae%x01%B", f"{since}..{head}", "--")
    for record in out.split("\0"):
        if not record.strip():
            continue
        sha, parents, name, email, message = record.lstrip("\n").split("\x01", 4)
        yield sha.strip(), parents.split(), name, email, message


def _changed(root: Path, parent: str, sha: str) -> list[tuple[str, str]]:
    fields = git(root, "diff-tree", "-r", "--no-renames", "--name-status", "-z", parent, sha).split("\0")
    return [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def _sizes(root: Path, commit: str, paths: list[str]) -> dict[str, int]:
    listing = git(root, "ls-tree", "-l", "-z", commit, "--", *paths)
    sizes: dict[str, int] = {}
    for record in listing.split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 4 and parts[1] == "blob" and parts[3].isdigit():
            sizes[path] = int(parts[3])
    return sizes


def mine_tasks(path: Path, since: str, *, head: str = "HEAD", max_files: int = DEFAULT_MAX_FILES,
               min_message: int = MIN_MESSAGE_CHARS, limit: int | None = None) -> tuple[list[Task], Counter[str]]:
    """Tasks from the commits in ``since..head``, newest first, and a count of why others were skipped."""
    root = git_toplevel(path)
    name = root.name
    tasks: list[Task] = []
    skipped: Counter[str] = Counter()
    for sha, parents, author, email, message in _commits(root, since, head):
        if len(parents) != 1:
            skipped["merge" if parents else "root commit"] += 1
            continue
        if BOT.search(author) or BOT.search(email):
            skipped["bot author"] += 1
            continue
        changes = _changed(root, parents[0], sha)
        if len(changes) > max_files:
            skipped[f"more than {max_files} files"] += 1
            continue
        source = sorted(p for status, p in changes if status == "M" and is_source(p))
        if not source:
            skipped["no modified source file"] += 1
            continue
        text = clean_message(message)
        if not message_ok(text, min_message):
            skipped["message (short, release, bump, chore ...)"] += 1
            continue
        sizes = _sizes(root, parents[0], source)
        gold = tuple(p for p in source if sizes.get(p, MAX_FILE_BYTES + 1) <= MAX_FILE_BYTES)
        if not gold:
            skipped["gold files too large"] += 1
            continue
        tasks.append(Task(f"{name}-{sha[:12]}", text, gold, parents[0], sha, f"mined/{name}"))
        if limit is not None and len(tasks) >= limit:
            break
    return tasks, skipped


def write_tasks(tasks: list[Task]) -> str:
    return "".join(json.dumps(t.to_json(), ensure_ascii=False) + "\n" for t in tasks)


def read_tasks(path: Path) -> list[Task]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read --tasks {path}: {exc.strerror or exc}") from None
    tasks = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{n}: not JSON ({exc})") from None
        tasks.append(Task.from_json(data, f"{path}:{n}"))
    if not tasks:
        raise UsageError(f"{path} holds no tasks (one JSON object per line, with 'query' and 'gold')")
    return tasks
