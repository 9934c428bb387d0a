"""Git history as prompt blocks: the diff under review and the recent commits.

`--include-diff` without a ref is the uncommitted work (staged and not, against HEAD);
with a ref it is `REF...HEAD` (what this branch changed since it left REF).  Only files
the walk would pack (or deleted files that the sensitive-name rules would not skip) appear
in the diff, so `.env` or an excluded file never reaches the prompt through its diff.
`--include-log N` lists the last N commits: hash, date, subject and the files changed.
Both are redacted like files, and both are cut to fit (whole files of the diff, oldest
commits first) when they alone would take more than their share of the budget.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repopack.errors import RepoError
from repopack.packing.redaction import SecretFinding
from repopack.packing.render import ExtraBlock, render_extra
from repopack.packing.tokens import Tokenizer
from repopack.packing.walk import SENSITIVE_ALLOW, SENSITIVE_EXCLUDES, WalkResult
from repopack.util.git import run_git

KIND_DIFF = "git_diff"
KIND_LOG = "git_log"
UNCOMMITTED = ""  # --include-diff without a ref


@dataclass(frozen=True)
class HistoryRequest:
    diff: str | None = None  # None: no diff; UNCOMMITTED: changes against HEAD; else REF...HEAD
    log: int | None = None  # the last N commits

    @property
    def empty(self) -> bool:
        return self.diff is None and not self.log


@dataclass(frozen=True)
class _Section:
    head: str  # a line naming the section in a "left out" note
    text: str


def _git(root: Path, *args: str, what: str) -> str:
    return run_git(root, "--literal-pathspecs", "-c", "core.quotepath=off", *args, what=what, timeout=120)


def _allowed(root: Path, walked: WalkResult) -> Callable[[str], bool]:
    packed = {f.path for f in walked.files}
    skipped = {s.path for s in walked.skipped}
    import pathspec

    sensitive = pathspec.GitIgnoreSpec.from_lines([*SENSITIVE_EXCLUDES, *SENSITIVE_ALLOW])

    def allowed(path: str) -> bool:
        if path in packed:
            return True
        if path in skipped or os.path.lexists(root / path):
            return False  # skipped, or not packable (binary, ignored, ...)
        return not sensitive.match_file(path)  # deleted in the work tree

    return allowed


def diff_sections(root: Path, ref: str, walked: WalkResult) -> tuple[str, list[_Section]]:
    what = "--include-diff" + (f" {ref}" if ref else "")
    rng = ["HEAD"] if ref == UNCOMMITTED else [f"{ref}...HEAD"]
    if ref and ref.startswith("-"):
        raise RepoError(f"--include-diff: not a ref: {ref!r}")
    title = "git diff HEAD (uncommitted changes, staged and not)" if ref == UNCOMMITTED else f"git diff {ref}...HEAD"
    base = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--ignore-submodules=dirty", "--relative", *rng]
    names = [n for n in _git(root, *base, "--name-only", "-z", "--", what=what).split("\0") if n]
    allowed = _allowed(root, walked)
    keep = [n for n in names if allowed(n)]
    sections: list[_Section] = []
    for start in range(0, len(keep), 500):
        chunk = keep[start:start + 500]
        text = _git(root, *base, "--", *chunk, what=what)
        sections += _split_diff(text)
    return title, sections


def _split_diff(text: str) -> list[_Section]:
    sections: list[_Section] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("diff --git ") and current:
            sections.append(_section_of(current))
            current = []
        current.append(line)
    if current:
        sections.append(_section_of(current))
    return sections


def _section_of(lines: list[str]) -> _Section:
    head = lines[0].rstrip("\n")
    name = head.split(" b/", 1)[-1] if " b/" in head else head
    text = "".join(lines)
    if "\x00" in text:  # git looks for NUL bytes only in the first 8,000: a later one makes it binary here
        text = f"{head}\nBinary file {name} changed\n"
    return _Section(name, text)


def log_sections(root: Path, n: int) -> list[_Section]:
    out = _git(root, "log", f"-n{n}", "--no-color", "--date=short", "--no-renames", "--name-status",
               "--format=%x00%h %ad %s", what=f"--include-log {n}")
    sections = []
    for chunk in out.split("\0"):
        lines = [ln for ln in chunk.splitlines() if ln.strip()]
        if not lines:
            continue
        files = ["  " + " ".join(ln.split("\t")) for ln in lines[1:]]
        sections.append(_Section(lines[0].split(" ", 1)[0], "\n".join([lines[0], *files]) + "\n"))
    return sections


def _fit_sections(kind: str, title: str, sections: Sequence[_Section], limit: int | None, fmt: str,
                  tokenizer: Tokenizer) -> ExtraBlock:
    """The block with as many whole sections as `limit` tokens hold; a note says what was cut."""
    def block(k: int) -> ExtraBlock:
        body = "".join(s.text for s in sections[:k])
        cut = len(sections) - k
        if cut:
            what = "changed files" if kind == KIND_DIFF else "older commits"
            names = ", ".join(s.head for s in sections[k:k + 5]) + (" …" if cut > 5 else "")
            body += f"… {cut} more {what} left out for the budget: {names}\n"
        return ExtraBlock(kind, title, body)

    k = len(sections)
    if limit is None:
        return block(k)
    costs = tokenizer.count_many([s.text for s in sections]) if sections else []
    total = sum(costs)
    while k > 0 and total > limit:
        k -= 1
        total -= costs[k]
    while k > 0 and tokenizer.count(render_extra(block(k), fmt)) > limit:
        k -= 1
    return block(k)


def history_blocks(root: Path, request: HistoryRequest, walked: WalkResult, tokenizer: Tokenizer, fmt: str,
                   limit: int | None, redact: bool) -> tuple[tuple[ExtraBlock, ...], tuple[SecretFinding, ...]]:
    """The requested blocks, redacted, together within `limit` tokens (None: no limit)."""
    wanted: list[tuple[str, str, list[_Section]]] = []
    if request.diff is not None:
        title, sections = diff_sections(root, request.diff, walked)
        wanted.append((KIND_DIFF, title, sections))
    if request.log:
        wanted.append((KIND_LOG, f"git log -n {request.log} (recent commits, newest first)",
                       log_sections(root, request.log)))
    findings: list[SecretFinding] = []
    if redact:
        from repopack.packing.scan import redact_text

        clean: list[tuple[str, str, list[_Section]]] = []
        for kind, title, sections in wanted:
            out = []
            for s in sections:
                red = redact_text(s.head, s.text)
                findings += [SecretFinding(f"{title}: {s.head}", f.line, f.type) for f in red.findings]
                out.append(_Section(s.head, red.text))
            clean.append((kind, title, out))
        wanted = clean
    blocks: list[ExtraBlock] = []
    left = limit
    for i, (kind, title, sections) in enumerate(wanted):
        share = None if left is None else left // (len(wanted) - i)
        made = _fit_sections(kind, title, sections, share, fmt, tokenizer)
        if left is not None:
            left -= tokenizer.count(render_extra(made, fmt))
        blocks.append(made)
    return tuple(blocks), tuple(findings)
