"""The TUI's screens."""

from __future__ import annotations

from .main import MainScreen
from .value_prompt import ValuePrompt

__all__ = ["MainScreen", "ValuePrompt"]
