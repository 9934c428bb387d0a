"""An explicit list of files (`--stdin`, `-0`): exactly these, still under the safety rules.

Names are taken relative to the directory the command runs in (what `git ls-files` or
`rg -l` print) or absolute, and made relative to the repository root.  Ignore rules and the
built-in excludes do not apply to a file someone listed by name; the sensitive-name,
binary, size and symlink rules do (the walk applies them), and every name that cannot be
packed is reported with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from repopack.packing.walk import SkippedFile

SKIP_OUTSIDE = "outside the repository"
SKIP_MISSING = "not found"
SKIP_NOT_FILE = "not a regular file"


def split_names(data: str, nul: bool) -> list[str]:
    if nul:
        return [n for n in data.split("\0") if n]
    return [n.rstrip("\r") for n in data.splitlines() if n.strip()]


def resolve_listed(root: Path, names: Iterable[str], cwd: Path | None = None) -> tuple[list[str], list[SkippedFile]]:
    """(root-relative posix paths, in first-seen order without repeats; names that were skipped)."""
    base = (cwd or Path.cwd()).resolve()
    kept: list[str] = []
    seen: set[str] = set()
    skipped: list[SkippedFile] = []
    for name in names:
        given = Path(name)
        full = given if given.is_absolute() else base / given
        # Normalise without following a final symlink: the walk decides about symlinks.
        norm = Path(os.path.normpath(full))
        try:
            parent = norm.parent.resolve()
            rel = (parent / norm.name).relative_to(root).as_posix()
        except (ValueError, OSError):
            skipped.append(SkippedFile(name, SKIP_OUTSIDE))
            continue
        if rel in seen:
            continue
        seen.add(rel)
        if not os.path.lexists(root / rel):
            skipped.append(SkippedFile(rel, SKIP_MISSING))
        elif not (root / rel).is_symlink() and not (root / rel).is_file():
            skipped.append(SkippedFile(rel, SKIP_NOT_FILE))
        else:
            kept.append(rel)
    return kept, skipped
