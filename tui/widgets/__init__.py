"""The TUI's widgets, one per module."""

from __future__ import annotations

from .budget_meter import BudgetMeter
from .context_panel import ContextPanel
from .context_strip import ContextStrip
from .context_tree import ContextTree
from .conversation import Conversation
from .diff_block import DiffBlock
from .prompt_input import PromptInput

__all__ = ["BudgetMeter", "ContextPanel", "ContextStrip", "ContextTree", "Conversation", "DiffBlock", "PromptInput"]
