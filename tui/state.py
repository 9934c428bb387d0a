"""What the context panel shows, as plain data: per-file states, folder totals and the meter.

Nothing here imports Textual, so the rules (what a toggle does to a folder, which
exclude patterns it becomes, what the meter reads before the exact re-pack lands) are
tested without an app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from repopack.choices import Mode
from repopack.packing.fit import BLOCK_MODES
from repopack.packing.images import is_image
from repopack.packing.walk import SKIP_EXCLUDED

if TYPE_CHECKING:
    from repopack.packing.pipeline import PackResult

STATE_EXCLUDED = "excluded"
STATE_IMAGE = "image"  # an image attached to the request (tokens: its image tokens)
STATES = (Mode.FULL, Mode.FOCUSED, Mode.SKELETON, Mode.PATH, Mode.DROPPED, STATE_EXCLUDED, STATE_IMAGE)
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


@dataclass(frozen=True)
class FileRow:
    path: str
    state: str  # full | focused | skeleton | path | dropped | excluded | image
    tokens: int  # tokens of the file's text in the pack (0 for path, dropped, excluded)
    full_tokens: int | None  # tokens of the whole file, when known


@dataclass(frozen=True)
class Meter:
    used: int
    budget: int | None
    window: int
    estimated: bool = False  # True between a change and the exact re-pack

    @property
    def share(self) -> float:
        limit = self.budget or self.window
        return min(1.0, self.used / limit) if limit else 0.0


@dataclass(frozen=True)
class ContextView:
    """One snapshot of the context: what the tree and the meter show."""

    rows: Mapping[str, FileRow]
    meter: Meter
    pinned: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()  # user exclusions: files, and folders ending in "/"
    config_excluded: frozenset[str] = frozenset()  # excluded by the repo's own configuration

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for row in self.rows.values():
            out[row.state] += 1
        return out

    def folder_totals(self) -> dict[str, tuple[int, int, int]]:
        """folder ("a/b/") -> (tokens in the pack, files in the pack, files)."""
        totals: dict[str, list[int]] = {}
        for row in self.rows.values():
            for folder in ancestors(row.path):
                entry = totals.setdefault(folder, [0, 0, 0])
                entry[0] += row.tokens
                entry[1] += row.state in BLOCK_MODES or row.state == STATE_IMAGE
                entry[2] += 1
        return {k: (v[0], v[1], v[2]) for k, v in totals.items()}


def ancestors(path: str) -> list[str]:
    """"a/b/c.py" -> ["a/", "a/b/"]."""
    parts = path.rstrip("/").split("/")[:-1]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def is_excluded(path: str, excluded: Iterable[str]) -> bool:
    wanted = set(excluded)
    return path in wanted or any(folder in wanted for folder in ancestors(path))


def toggle_exclusion(excluded: frozenset[str], target: str, all_paths: Iterable[str]) -> frozenset[str]:
    """Flip `target` (a file, or a folder ending in "/") in or out of the context.

    Taking a file back in from an excluded folder replaces the folder's exclusion with
    exclusions of everything else in it, so exclusions never need negated patterns.
    """
    covered = is_excluded(target, excluded)
    inside = {p for p in excluded if target.endswith("/") and p.startswith(target) and p != target}
    if not covered:
        return frozenset((excluded - inside) | {target})
    result = set(excluded - inside - {target})
    paths = list(all_paths)
    for folder in [a for a in ancestors(target) if a in result]:
        result.discard(folder)
        # Re-exclude each sibling on the way down from `folder` to `target`.
        chain = [a for a in ancestors(target) if a.startswith(folder)] + [target]
        for upper, lower in zip(chain, chain[1:], strict=False):
            for child in _children(upper, paths):
                if child != lower:
                    result.add(child)
    return frozenset(result)


def _children(folder: str, paths: Iterable[str]) -> set[str]:
    out = set()
    for path in paths:
        if path.startswith(folder):
            rest = path[len(folder):]
            head, sep, _ = rest.partition("/")
            out.add(folder + head + sep)
    return out


def exclude_patterns(excluded: Iterable[str]) -> tuple[str, ...]:
    """Anchored gitignore patterns for the exclusions ("/a/b.py", "/docs/")."""
    return tuple("/" + _GLOB_SPECIAL.sub(r"\\\1", p) for p in sorted(excluded))


@dataclass
class TokenMemory:
    """Full token counts seen so far, so an excluded file still shows its size."""

    tokens: dict[str, int] = field(default_factory=dict)

    def update(self, result: PackResult) -> None:
        self.tokens.update(result.file_tokens)
        self.tokens.update({i.path: i.tokens for i in result.images.images})


def view_from_pack(result: PackResult, window: int, memory: TokenMemory, pinned: Iterable[str] = (),
                   excluded: frozenset[str] = frozenset()) -> ContextView:
    memory.update(result)
    rows: dict[str, FileRow] = {}
    for d in result.packed.decisions:
        rows[d.path] = FileRow(d.path, d.mode, d.tokens if d.mode in BLOCK_MODES else 0,
                               memory.tokens.get(d.path))
    for image in result.images.images:
        rows[image.path] = FileRow(image.path, STATE_IMAGE, image.tokens, image.tokens)
    config_excluded = set()
    for skipped in result.walk.skipped:
        if skipped.reason == SKIP_EXCLUDED:
            rows[skipped.path] = FileRow(skipped.path, STATE_EXCLUDED, 0, memory.tokens.get(skipped.path))
            if not is_excluded(skipped.path, excluded):
                config_excluded.add(skipped.path)
    meter = Meter(result.packed.tokens + result.images.tokens, result.packed.budget, window)
    return ContextView(dict(sorted(rows.items())), meter, frozenset(pinned), excluded, frozenset(config_excluded))


def estimate_after_toggle(view: ContextView, excluded: frozenset[str]) -> ContextView:
    """The view right after a toggle, before the re-pack: the meter moves at once."""
    rows = dict(view.rows)
    used = view.meter.used
    for path, row in view.rows.items():
        now_out = is_excluded(path, excluded)
        if now_out and row.state != STATE_EXCLUDED:
            used -= row.tokens
            rows[path] = FileRow(path, STATE_EXCLUDED, 0, row.full_tokens)
        elif not now_out and row.state == STATE_EXCLUDED and path not in view.config_excluded:
            used += row.full_tokens or 0
            state = STATE_IMAGE if is_image(path) else Mode.FULL  # an image comes back as an image
            rows[path] = FileRow(path, state, row.full_tokens or 0, row.full_tokens)
    limit = view.meter.budget
    used = max(0, min(used, limit) if limit else used)
    meter = Meter(used, view.meter.budget, view.meter.window, estimated=True)
    return ContextView(rows, meter, view.pinned, excluded, view.config_excluded)
