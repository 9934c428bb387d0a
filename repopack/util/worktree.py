"""Paths repopack itself writes inside a work tree (``.repopack/…``): never through a symlink.

A repository can commit ``.repopack`` (or ``.repopack/chat``, or ``.repopack/context.xml``)
as a symlink to anywhere.  `own_path` refuses any path whose existing components below the
root include a symlink or something that is not a directory, so what repopack saves for
itself (transcripts, the copied context) lands in the work tree or not at all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from repopack.errors import RepoError


def own_path(root: Path, rel: str) -> Path:
    """``root / rel`` if no existing component of it below `root` is a symlink; else RepoError.

    The last component may exist only as a regular file or a directory.
    """
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise RepoError(f"{rel}: not a path inside the repository")
    current = root
    for index, part in enumerate(parts):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return root.joinpath(*parts)
        last = index == len(parts) - 1
        if stat.S_ISLNK(mode):
            raise RepoError(f"{current} is a symlink; repopack does not write through links inside a repository")
        if not (stat.S_ISDIR(mode) or (last and stat.S_ISREG(mode))):
            raise RepoError(f"{current} is not a regular file or directory")
    return current
