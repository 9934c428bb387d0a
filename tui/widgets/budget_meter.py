"""Used / budget / window, as a bar and numbers."""

from __future__ import annotations

from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..state import ContextView


class BudgetMeter(Static):
    DEFAULT_CSS = """
    BudgetMeter {
        height: auto;
        padding: 0 1;
    }
    """

    numbers = ""  # the numbers line as plain text ("735 / 32,000 tokens"), for tests and screen readers
    summary = ""  # the counts line as plain text ("9 full · 0 skeleton · 0 path")

    def show_view(self, view: ContextView | None, status: str = "") -> None:
        if view is None:
            self.numbers = self.summary = ""
            self.update(Text(status or "packing…", style="italic"))
            return
        meter = view.meter
        limit = meter.budget or meter.window
        approx = "≈" if meter.estimated else ""
        numbers = Text.assemble(
            (f"{approx}{meter.used:,}", "bold"), " / ",
            (f"{meter.budget:,}" if meter.budget else "no budget", "bold"), " tokens",
        )
        self.numbers = numbers.plain
        window = Text(f"window {meter.window:,}", style="dim")
        counts = view.counts()
        parts = [f"{counts['full']} full", f"{counts['skeleton']} skeleton", f"{counts['path']} path"]
        if counts["focused"]:
            parts.insert(1, f"{counts['focused']} focused")
        if counts["image"]:
            parts.append(f"{counts['image']} image{'s' if counts['image'] != 1 else ''}")
        if counts["dropped"]:
            parts.append(f"{counts['dropped']} dropped")
        if counts["excluded"]:
            parts.append(f"{counts['excluded']} excluded")
        self.summary = " · ".join(parts)
        summary = Text(self.summary, style="dim")
        bar_style = "yellow" if meter.estimated else "green"
        bar = ProgressBar(total=limit or 1, completed=min(meter.used, limit or 1), complete_style=bar_style,
                          finished_style="red" if not meter.estimated else bar_style)
        grid = Table.grid(expand=True)  # a Group would run the bar and the next line together
        grid.add_column()
        for line in (numbers, bar, window, summary, Text(status, style="italic") if status else None):
            if line is not None:
                grid.add_row(line)
        self.update(grid)
