"""Share a CPU-bound map that holds the GIL with one forked child process.

Some compiled helpers (bpe-openai's token counter) never release the GIL, so threads do not
help them.  A forked child shares the parent's memory copy-on-write, so it can work on its part
of the inputs without anything being pickled or copied; it sends back only integers through a
pipe and leaves with `os._exit` (no atexit handlers, no flushing of inherited buffers or
connections).  Forking is only done where it is safe and worth it: on a platform with `fork`,
more than one CPU, no other Python thread running (forking a threaded process can deadlock the
child), and enough work.  Whenever anything about the child goes wrong the parent does the
child's part itself, so the result never depends on whether the fork worked.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_ITEM = "q"  # signed 64-bit per result


def can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1 and threading.active_count() == 1


def map_ints(fn: Callable[[T], int], items: Sequence[T], weights: Sequence[int], *, min_weight: int) -> list[int]:
    """`[fn(x) for x in items]`, the second half (by weight) computed in a forked child when the
    total weight is at least `min_weight` and forking is safe (see the module docstring)."""
    total = sum(weights)
    if len(items) < 2 or total < min_weight or not can_fork():
        return [fn(x) for x in items]
    split, acc = 0, 0
    while split < len(items) and acc < total / 2:
        acc += weights[split]
        split += 1
    theirs = items[split:]
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return [fn(x) for x in items]
    if pid == 0:  # the child: compute, send, leave without running any of the parent's cleanup
        code = 1
        try:
            os.close(read_fd)
            view = memoryview(array(_ITEM, [fn(x) for x in theirs]).tobytes())
            while view:
                view = view[os.write(write_fd, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    done = False
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            mine = [fn(x) for x in items[:split]]
            chunks = []
            while chunk := pipe.read(1 << 16):
                chunks.append(chunk)
        _pid, status = os.waitpid(pid, 0)
        done = True
        data = b"".join(chunks)
        expected = len(theirs) * array(_ITEM).itemsize
        if status == 0 and len(data) == expected:
            return mine + array(_ITEM, data).tolist()
        return mine + [fn(x) for x in theirs]
    finally:
        if not done:  # interrupted (Ctrl-C) or failed while the child runs: never leave it behind
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass
