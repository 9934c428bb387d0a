"""The left side: budget meter, legend and the file tree."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..state import STATE_IMAGE, ContextView
from .budget_meter import BudgetMeter
from .context_tree import GLYPHS, IMAGE_GLYPH, ContextTree


def legend(images: bool = False) -> Text:
    """The glyphs; ▣ only while an image is in the context (most questions attach none)."""
    text = Text()
    for state, (glyph, color) in GLYPHS.items():
        text.append(glyph, style=color).append(f" {state} ")
    if images:
        glyph, color = IMAGE_GLYPH
        text.append(glyph, style=color).append(" image ")
    text.append("*", style="bold magenta").append(" pinned")
    return text


class ContextPanel(Vertical):
    DEFAULT_CSS = """
    ContextPanel {
        border: round $primary 50%;
        border-title-color: $text;
        height: 1fr;
    }
    ContextPanel:focus-within {
        border: round $primary;
    }
    ContextPanel > #legend {
        color: $text-muted;
        padding: 0 1;
        height: auto;
    }
    """

    def __init__(self, repo_name: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.repo_name = repo_name
        self.border_title = "Context"

    def compose(self) -> ComposeResult:
        yield BudgetMeter(id="meter")
        yield Static(legend(), id="legend")
        yield ContextTree(self.repo_name, id="tree")

    def show_view(self, view: ContextView | None, status: str = "") -> None:
        self.query_one(BudgetMeter).show_view(view, status)
        if view is not None:
            self.query_one("#legend", Static).update(legend(images=view.counts()[STATE_IMAGE] > 0))
            self.query_one(ContextTree).show_view(view)
