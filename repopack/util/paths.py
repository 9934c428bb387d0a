"""Where repopack keeps its cache, data and user config (overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    return Path(os.environ.get("REPOPACK_CACHE_DIR") or platformdirs.user_cache_dir("repopack"))


def data_dir() -> Path:
    return Path(os.environ.get("REPOPACK_DATA_DIR") or platformdirs.user_data_dir("repopack"))


def config_dir() -> Path:
    return Path(os.environ.get("REPOPACK_CONFIG_DIR") or platformdirs.user_config_dir("repopack"))
