"""The progress callback the core reports through: (stage, done, total). The core never prints."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
