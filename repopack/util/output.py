"""Writing a prompt or report where the user asked (`-o`): stdout for "-", else atomically."""

from __future__ import annotations

import sys
from pathlib import Path

from repopack.errors import RepoError, RepopackError
from repopack.util.fs import atomic_write, current_umask


def write_output(text: str, target: str) -> None:
    """Write atomically: a crash or Ctrl-C never leaves a half-written prompt behind."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    dest = Path(target)
    if dest.is_dir():
        raise RepoError(f"output path is a directory: {target}")
    try:
        atomic_write(dest, text.encode("utf-8", "surrogateescape"), mode=0o666 & ~current_umask())
    except OSError as exc:
        raise RepopackError(f"cannot write {target}: {exc.strerror or exc}") from None
