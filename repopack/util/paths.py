"""Where repopack keeps its cache, data and user config (overridable by environment)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from repopack.util.env import env


def cache_dir() -> Path:
    return Path(env("cache_dir") or platformdirs.user_cache_dir("repopack"))


def data_dir() -> Path:
    return Path(env("data_dir") or platformdirs.user_data_dir("repopack"))


def config_dir() -> Path:
    return Path(env("config_dir") or platformdirs.user_config_dir("repopack"))
