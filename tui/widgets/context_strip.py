"""One line in place of the context pane while it is hidden: tokens used and how to show the files."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..state import ContextView


class ContextStrip(Static):
    DEFAULT_CSS = """
    ContextStrip {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $surface;
    }
    """

    def show_view(self, view: ContextView | None, status: str = "") -> None:
        text = Text("Context ", style="bold")
        if view is not None:
            meter = view.meter
            approx = "≈" if meter.estimated else ""
            limit = f"{meter.budget:,}" if meter.budget else "no budget"
            counts = view.counts()
            text.append(f"{approx}{meter.used:,} / {limit} tokens · {counts['full']} full")
            if counts["focused"] + counts["skeleton"]:
                text.append(f" · {counts['focused'] + counts['skeleton']} partial")
            if counts["image"]:
                text.append(f" · {counts['image']} image{'s' if counts['image'] != 1 else ''}")
            if counts["path"] + counts["dropped"]:
                text.append(f" · {counts['path'] + counts['dropped']} listed")
        if status or view is None:
            text.append(f" · {status or 'packing…'}", style="italic")
        text.append(" · ^t shows the files", style="dim")
        self.update(text)
