"""The Python API: the few calls a library user needs, over the same core the CLI uses.

    import repopack
    result = repopack.pack("path/to/repo", query="Why does retry ignore 429?", budget="32k")
    print(result.text)                       # the prompt, redacted, within the budget
    for f in repopack.rank(".", query="retry on 429")[:5]:
        print(f.path, f.score, f.why())
    print(repopack.skeleton_map(".", budget="8k"))

Settings are layered as on the command line (defaults < user config < repository config <
REPOPACK_* environment < these arguments); pass `settings=` to take full control.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repopack.config import Settings, load_settings, parse_budget

if TYPE_CHECKING:
    from repopack.packing.pipeline import PackResult
    from repopack.packing.rank import RankedFile


def _settings(path: str | Path, settings: Settings | None, overrides: dict[str, Any]) -> tuple[Path, Settings]:
    from repopack.packing.walk import resolve_root

    root = resolve_root(path)
    if settings is not None:
        import dataclasses

        return root, dataclasses.replace(settings, **overrides) if overrides else settings
    return root, load_settings(root, {k: v for k, v in overrides.items() if v is not None})


def _budget(budget: int | str | None) -> int | None:
    return parse_budget(budget) if isinstance(budget, str) else budget


def pack(path: str | Path = ".", *, query: str | None = None, budget: int | str | None = None,
         focus: Sequence[str] = (), diff: str | None = None, settings: Settings | None = None,
         **overrides: Any) -> PackResult:
    """Pack a repository into a prompt: `result.text` is the rendered, redacted prompt.

    `budget`: tokens of the whole rendered prompt (an int, or "32k" / "1.5m"); `query`: what the
    prompt is for (ranks the files); `focus`: paths to treat as relevant; `diff`: rank what changed
    since this git ref. Other keyword arguments are Settings fields (format="markdown", ...).
    Raises a RepopackError subclass on bad input.
    """
    from repopack.packing.pipeline import pack_repo
    from repopack.packing.rank import Signals

    root, resolved = _settings(path, settings, {**overrides, "budget": _budget(budget)})
    return pack_repo(root, resolved, Signals(query=query, focus=tuple(focus)), diff_base=diff)


def rank(path: str | Path = ".", *, query: str | None = None, focus: Sequence[str] = (),
         diff: str | None = None, settings: Settings | None = None, **overrides: Any) -> list[RankedFile]:
    """The repository's files, most relevant to the question first, each with its score and signals."""
    from repopack.packing.pipeline import rank_repo
    from repopack.packing.rank import Signals

    root, resolved = _settings(path, settings, overrides)
    return rank_repo(root, resolved, Signals(query=query, focus=tuple(focus)), diff_base=diff)


def skeleton_map(path: str | Path = ".", *, budget: int | str | None = None, settings: Settings | None = None,
                 **overrides: Any) -> str:
    """The repository map: one line per definition, most central files first, as many as `budget` allows."""
    from repopack.packing.repomap import skeleton_map as build_map

    root, resolved = _settings(path, settings, overrides)
    return build_map(root, resolved, _budget(budget))
