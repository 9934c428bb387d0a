"""Helper processes: the one way repopack starts a process pool.

Pools use the ``spawn`` start method (safe whatever threads exist).  Their workers ignore
SIGINT: a Ctrl-C in the terminal reaches the whole process group, and the main process
alone turns it into ``repopack: interrupted`` (exit 130) and shuts the pool down; a worker
that took it too would print its own ``KeyboardInterrupt`` traceback.
"""

from __future__ import annotations

import signal
from concurrent.futures import ProcessPoolExecutor


def ignore_sigint() -> None:
    """A pool initializer: leave Ctrl-C to the main process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def helper_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=ignore_sigint)
