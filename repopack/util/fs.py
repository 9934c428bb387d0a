"""Atomic file writes: the one place repopack replaces a file.

A temporary file in the same directory, flushed, then ``os.replace``: a crash or Ctrl-C
never leaves a half-written file. The new file gets the old file's permission bits, or an
ordinary file's (``0666 & ~umask``; ``mkstemp`` alone would make it 0600) unless `mode` says.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(target: Path, data: bytes | str, mode: int | None = None) -> None:
    """Replace `target` with `data` atomically.

    `mode`: the permission bits of the new file; None keeps those of an existing regular file,
    else an ordinary file's. Raises OSError; nothing is left behind on failure.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        try:
            st = os.stat(target)
            mode = st.st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~current_umask()
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".repopack-tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
