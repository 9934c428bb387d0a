"""repopack: turn a repository into the best prompt for a question under a token budget."""

from __future__ import annotations

__version__ = "0.1.0"
