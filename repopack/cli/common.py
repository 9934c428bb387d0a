"""Helpers shared by the command modules: settings from flags, stderr console, output files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from repopack.config import Settings, load_settings
from repopack.errors import UsageError
from repopack.packing.walk import resolve_root

if TYPE_CHECKING:
    from rich.console import Console


def stderr_console() -> Console:
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR")) or not sys.stderr.isatty()
    return Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)


Styled = str | tuple[str, str]  # text, or (text, rich style)


class Printer(Protocol):
    def print(self, *objects: Any, markup: bool | None = None, highlight: bool | None = None,
              style: str | None = None) -> None: ...


class StderrConsole:
    """stderr for a command that mostly prints plain lines (`pack`): written directly when stderr is
    not a terminal, through rich (colour, progress bars) when it is.  Rich is imported only then,
    and text is never parsed as markup here, so a file named `a[/b].py` prints as itself."""

    def __init__(self) -> None:
        forced = any(os.environ.get(k) for k in ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE"))
        self._plain = not forced and not sys.stderr.isatty()
        self._rich: Console | None = None

    @property
    def rich(self) -> Console:
        if self._rich is None:
            self._rich = stderr_console()
        return self._rich

    @property
    def is_terminal(self) -> bool:
        return not self._plain and self.rich.is_terminal

    def line(self, *parts: Styled) -> None:
        """One line from plain and styled parts."""
        if self._plain:
            self._write("".join(p if isinstance(p, str) else p[0] for p in parts))
            return
        from rich.text import Text

        self.rich.print(Text.assemble(*parts), highlight=False)

    def print(self, *objects: Any, markup: bool | None = None, highlight: bool | None = None,
              style: str | None = None) -> None:
        """Plain text (markup=False) is written as is; anything else goes to rich."""
        if self._plain and markup is False and all(isinstance(o, str) for o in objects):
            self._write(" ".join(objects))
            return
        self.rich.print(*objects, markup=markup, highlight=highlight, style=style)

    def _write(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def settings_for(path: str, flags: dict[str, Any]) -> tuple[Path, Settings]:
    """Resolve the repository root and layer flags over its configuration."""
    root = resolve_root(path)
    clean = {k: (tuple(v) if isinstance(v, list | tuple) else v) for k, v in flags.items()}
    clean = {k: v for k, v in clean.items() if v is not None and v != ()}
    return root, load_settings(root, clean)


class LazyProgress:
    """A rich progress bar on a terminal, shown only once work has taken over a second."""

    def __init__(self, console: Console | StderrConsole, delay: float = 1.0) -> None:
        import time

        self._console = console
        self._start = time.monotonic()
        self._delay = delay
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._enabled = console.is_terminal

    def __bool__(self) -> bool:
        """False where no bar can ever show (not a terminal), so stages need not slice work for one."""
        return self._enabled

    def __call__(self, stage: str, done: int, total: int) -> None:
        import time

        if not self._enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._start < self._delay:
                return
            from rich.progress import BarColumn, Progress, TextColumn

            console = self._console.rich if isinstance(self._console, StderrConsole) else self._console
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.completed}/{task.total}"), console=console,
                                      transient=True)
            self._progress.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total or 1)
        self._progress.update(self._tasks[stage], completed=done, total=total or 1)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def terminal_cost_confirm() -> Callable[[float, float], bool] | None:
    """On a terminal, a question before a call above the cost limit; without one, None (refuse)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def confirm(cost: float, limit: float) -> bool:
        import click

        return click.confirm(f"The estimated cost ${cost:.4f} is above the limit of ${limit:.2f} (max_cost). "
                             "Send anyway?", default=False, err=True)

    return confirm


def guarded(fn: Callable[[], Any], progress: LazyProgress) -> Any:
    try:
        return fn()
    finally:
        progress.stop()


def read_query(query: str | None, query_file: str | None) -> str | None:
    if query is not None and query_file is not None:
        raise UsageError("give --query or --query-file, not both")
    if query_file is None:
        return query
    try:
        return Path(query_file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read --query-file {query_file}: {exc.strerror or exc}") from None


def open_source(path: str, ref: str | None = None, console: Printer | None = None, depth: int = 1) -> str:
    """PATH as given, or for a remote repository (URL, github:OWNER/REPO) its cached checkout."""
    from repopack.packing.remote import resolve_source

    root, checkout = resolve_source(path, ref, depth=depth)
    if checkout is not None and console is not None:
        how = "fetched" if checkout.fetched else "cached, nothing fetched"
        console.print(f"Remote {checkout.spec.display} at {checkout.commit[:12]} ({how})", markup=False,
                      highlight=False)
    return str(root)
