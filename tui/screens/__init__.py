"""The TUI's screens."""

from __future__ import annotations

from .main import MainScreen
from .model_picker import ModelChoice, ModelPicker
from .value_prompt import ValuePrompt

__all__ = ["MainScreen", "ModelChoice", "ModelPicker", "ValuePrompt"]
