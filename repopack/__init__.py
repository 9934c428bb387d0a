"""repopack: turn a repository into the best prompt for a question under a token budget.

The Python API (see README, "Using repopack from Python"):

- `pack(path, query=..., budget=...)` -> PackResult (`.text` is the prompt)
- `rank(path, query=...)` -> ranked files with scores and the signals behind them
- `skeleton_map(path, budget=...)` -> signatures and docstrings of the repository
- `Session` -> a conversation with a model about a repository (`Session.open(path, settings)`)
- `Settings`, `load_settings` -> the typed configuration
- `RepopackError` and its subclasses -> every error repopack expects

Names load on first use, so `import repopack` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "pack": "repopack.api",
    "rank": "repopack.api",
    "skeleton_map": "repopack.api",
    "Session": "repopack.chat.session",
    "PackResult": "repopack.packing.pipeline",
    "Settings": "repopack.config",
    "load_settings": "repopack.config",
    "RepopackError": "repopack.errors",
    "UsageError": "repopack.errors",
    "ConfigError": "repopack.errors",
    "RepoError": "repopack.errors",
    "BudgetError": "repopack.errors",
    "ModelError": "repopack.errors",
    "ApplyError": "repopack.errors",
    "ReviewError": "repopack.errors",
}

__all__ = [
    "ApplyError", "BudgetError", "ConfigError", "ModelError", "PackResult", "RepoError", "RepopackError",
    "ReviewError", "Session", "Settings", "UsageError", "__version__", "load_settings", "pack", "rank",
    "skeleton_map",
]

if TYPE_CHECKING:
    from repopack.api import pack, rank, skeleton_map
    from repopack.chat.session import Session
    from repopack.config import Settings, load_settings
    from repopack.errors import (
        ApplyError,
        BudgetError,
        ConfigError,
        ModelError,
        RepoError,
        RepopackError,
        ReviewError,
        UsageError,
    )
    from repopack.packing.pipeline import PackResult


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'repopack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
