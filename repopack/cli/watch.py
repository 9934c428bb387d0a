"""`repopack pack --watch`: re-pack when files change, one summary line per re-pack."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repopack.errors import RepopackError

if TYPE_CHECKING:
    from repopack.cli.common import Printer

DEBOUNCE_MS = 300
SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache",
                       ".ruff_cache", ".tox", ".hypothesis", ".repopack"})


def watch_and_repack(root: Path, repack: Callable[[], Any], console: Printer, ignore: Sequence[str] = (),
                     split: bool = False) -> None:
    """Block until Ctrl-C, calling `repack` after each debounced batch of changes below `root`.

    The files repopack writes (the output, its parts, the manifest) never trigger a re-pack,
    nor do changes inside .git or caches.  A failed re-pack prints its one-line error and
    watching goes on: the next save usually fixes it.
    """
    import watchfiles

    own = {Path(p).resolve() for p in ignore}
    own_stems = [str(Path(p).resolve()).rsplit(".", 1)[0] + "." for p in ignore] if split else []

    def wanted(_change: watchfiles.Change, name: str) -> bool:
        path = Path(name)
        if path in own or any(name.startswith(s) for s in own_stems):
            return False
        if path.name.startswith(".repopack-") or path.name.endswith(".repopack-tmp"):  # our atomic writes
            return False
        try:
            rel = path.relative_to(root)
        except ValueError:
            return True
        return not any(part in SKIP_DIRS for part in rel.parts[:-1]) and rel.parts[:1] != (".git",)

    console.print(f"Watching {root} for changes (Ctrl-C to stop)", markup=False, highlight=False)
    try:
        for _changes in watchfiles.watch(root, watch_filter=wanted, debounce=DEBOUNCE_MS, step=50,
                                         raise_interrupt=False):
            try:
                repack()
            except RepopackError as exc:
                from repopack.util.fmt import error_line

                console.print(error_line(exc), markup=False, highlight=False)
    except KeyboardInterrupt:
        pass
    console.print("Stopped watching.", markup=False, highlight=False)
