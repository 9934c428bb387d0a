"""The one reader of ``REPOPACK_*`` environment variables.

Settings fields map to ``REPOPACK_<FIELD>`` (config.env_config); a few process-level switches
(cache, data and config directories, the fast counter, debug tracebacks) are read here too, so a
grep for the prefix finds every variable repopack honours. Keys are never read through this.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "REPOPACK_"


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of REPOPACK_<NAME>, or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(PREFIX + name.upper())
    return value if value else None
