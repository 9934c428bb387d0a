"""The repository map: one line per definition, files ordered by rank, as many as the budget allows.

Each file is a header line (its path and a colon) and one line per definition: the line
number, then the signature indented by nesting, as in skeletons.  No imports and no bodies,
so a map of a few thousand tokens covers dozens of files.  Files come in the order of the
question-independent PageRank (tests, docs and examples discounted, as in ranking).  Under a
budget, definitions compete by their file's rank and their own weight (how many other files
use the name, public before private, classes and functions before variables, the first of a
file before the rest), so every important file shows its main definitions before any file
shows its minor ones; a method brings the line of its class.  The last line says what the
budget left out.  Signatures are redacted like any text that leaves the machine.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from repopack.config import Settings
from repopack.packing.parse import Symbol
from repopack.packing.pipeline import index_repo
from repopack.packing.rank import prior
from repopack.util.progress import Progress

_KIND_WEIGHT = {"class": 1.0, "interface": 1.0, "type": 0.8, "function": 0.9, "method": 0.7, "module": 0.8,
                "macro": 0.6, "constant": 0.5, "variable": 0.3}
WITHIN_FILE_DECAY = 0.85  # each further definition of a file is worth this much less
MAX_SIGNATURE = 120  # characters of a signature shown (the rest becomes "…")


@dataclass(frozen=True)
class _Entry:
    file: int  # position in the file order
    symbol: int  # position among the file's definitions
    parent: int | None  # the definition (same file) it is nested in
    priority: float


def repo_map(path: str | Path, settings: Settings, budget: int | None = None,
             progress: Progress | None = None) -> str:
    root, _walked, index = index_repo(path, settings, progress=progress)
    try:
        base = index.graph.base_rank
        score = {i: float(base[i]) * prior(index.paths[i], index.files[i].language) for i in range(len(index.files))}
        files = sorted((i for i in range(len(index.files)) if index.symbols[i].defs),
                       key=lambda i: (-score[i], index.paths[i]))
        used_by: Counter[str] = Counter()
        for fs in index.symbols:
            for name, _count in fs.refs:
                used_by[name] += 1
        lines: dict[tuple[int, int], str] = {}
        entries: list[_Entry] = []
        for pos, i in enumerate(files):
            defs = index.symbols[i].defs
            width = len(str(max(d.line for d in defs)))
            parents = _parents(defs)
            importance = sorted(range(len(defs)), key=lambda k: -_weight(defs[k], used_by))
            for order, k in enumerate(importance):
                depth = _depth(parents, k)
                sig = defs[k].signature
                sig = sig if len(sig) <= MAX_SIGNATURE else sig[: MAX_SIGNATURE - 1].rstrip() + "…"
                lines[(pos, k)] = f"{defs[k].line:>{width}}│ {'    ' * depth}{sig}"
                entries.append(_Entry(pos, k, parents[k], score[i] * _weight(defs[k], used_by)
                                      * WITHIN_FILE_DECAY ** order))
        header_paths = {pos: f"\n{index.paths[i]}:" for pos, i in enumerate(files)}
        chosen = _choose(entries, lines, header_paths, budget, index.tokenizer.count_many)
        text = _render(root.name, files, index.paths, chosen, lines, header_paths, len(entries))
        if settings.redact:
            text = _redacted(text)
        while budget is not None and chosen and index.tokenizer.count(text) > budget:
            chosen = chosen[: max(0, len(chosen) - max(1, len(chosen) // 20))]
            text = _render(root.name, files, index.paths, chosen, lines, header_paths, len(entries))
            if settings.redact:
                text = _redacted(text)
        return text
    finally:
        index.cache.close()


def _weight(symbol: Symbol, used_by: Counter[str]) -> float:
    w = _KIND_WEIGHT.get(symbol.kind, 0.5) * (1 + math.log1p(used_by.get(symbol.name, 0)))
    return w * (0.5 if symbol.name.startswith("_") and not symbol.name.startswith("__") else 1.0)


def _parents(defs: tuple[Symbol, ...]) -> list[int | None]:
    """The innermost definition each definition is nested in."""
    out: list[int | None] = [None] * len(defs)
    stack: list[int] = []
    for k in sorted(range(len(defs)), key=lambda k: (defs[k].line, -defs[k].end_line)):
        while stack and defs[stack[-1]].end_line < defs[k].line:
            stack.pop()
        out[k] = stack[-1] if stack else None
        stack.append(k)
    return out


def _depth(parents: list[int | None], k: int) -> int:
    depth, p = 0, parents[k]
    while p is not None:
        depth, p = depth + 1, parents[p]
    return depth


def _choose(entries: list[_Entry], lines: dict[tuple[int, int], str], headers: dict[int, str],
            budget: int | None, count_many) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    if budget is None:
        return list(lines)
    entries = sorted(entries, key=lambda e: (-e.priority, e.file, e.symbol))
    keys = [(e.file, e.symbol) for e in entries]
    cost = dict(zip(keys, count_many([lines[k] + "\n" for k in keys]), strict=True))
    header_cost = dict(zip(headers, count_many([h + "\n" for h in headers.values()]), strict=True))
    parent = {(e.file, e.symbol): e.parent for e in entries}
    room = budget - 80  # title and the closing line on what was left out
    chosen: set[tuple[int, int]] = set()
    opened: set[int] = set()
    for key in keys:
        need = [key]
        p = parent[key]
        while p is not None and (key[0], p) not in chosen:
            need.append((key[0], p))
            p = parent[(key[0], p)]
        extra = sum(cost[k] for k in need if k not in chosen) + (0 if key[0] in opened else header_cost[key[0]])
        if extra > room:
            continue
        room -= extra
        chosen.update(need)
        opened.add(key[0])
    return sorted(chosen, key=lambda k: (k[0], _line_number(lines[k])))


def _line_number(line: str) -> int:
    return int(line.split("│", 1)[0])


def _render(name: str, files: list[int], paths: tuple[str, ...], chosen: list[tuple[int, int]],
            lines: dict[tuple[int, int], str], headers: dict[int, str], n_defs: int) -> str:
    shown_files = sorted({f for f, _k in chosen})
    out = [f"# Repository map of {name}: definitions of {len(shown_files)} of {len(files)} files "
           "with definitions, most central first"]
    by_file: dict[int, list[str]] = {}
    for f, k in sorted(chosen, key=lambda key: (key[0], _line_number(lines[key]))):
        by_file.setdefault(f, []).append(lines[(f, k)])
    for f in shown_files:
        out.append(headers[f])
        out.extend(by_file[f])
    left_files = len(files) - len(shown_files)
    left_defs = n_defs - len(chosen)
    if left_defs:
        left = [paths[files[f]] for f in range(len(files)) if f not in by_file][:3]
        more = f" ({', '.join(left)}{', …' if left_files > 3 else ''})" if left else ""
        out.append(f"\n⋮ left out for the budget: {left_defs} definitions, {left_files} files{more}")
    return "\n".join(out) + "\n"


def _redacted(text: str) -> str:
    from repopack.packing.scan import redact_text

    return redact_text("repository-map.txt", text).text


def skeleton_map(path: str | Path, settings: Settings, budget: int | None = None,
                 progress: Progress | None = None) -> str:
    """The map under its earlier name."""
    return repo_map(path, settings, budget, progress)
