"""Blocking work for async workers, in daemon threads.

Textual's thread workers run in the event loop's default executor, which is joined when
the app exits: quitting while a model is still reading a 1M-token prompt, or while a big
tree is being packed, would hang until that call returned.  An async worker that awaits
`in_daemon_thread(...)` is cancelled at once instead; the abandoned thread finishes on its
own (or dies with the process).  Never use this for work that must not be cut short,
such as applying edits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T], name: str = "repopack-tui") -> T:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # cancelled meanwhile: nobody is waiting any more
            outcome()

    def run() -> None:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting worker
            deliver(partial(future.set_exception, exc))
        else:
            deliver(partial(future.set_result, result))

    def deliver(outcome: Callable[[], None]) -> None:
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:
            pass  # the loop has closed: the app quit while this ran

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
