"""Command palette entries for the context: take any file in or out, pin any file."""

from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider
from textual.message import Message

from .screens.main import MainScreen
from .widgets import ContextTree

MAX_HITS = 40


class FileCommands(Provider):
    """"in/out path" and "pin path" for every file in the context (type part of a path)."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, MainScreen) or screen.controller.view is None or not query.strip():
            return
        matcher = self.matcher(query)
        tree = screen.query_one(ContextTree)
        hits: list[tuple[float, str, Message, str]] = []
        for path, row in screen.controller.view.rows.items():
            for verb, kind in (("In/out", ContextTree.ToggleRequested), ("Pin focus", ContextTree.PinRequested)):
                text = f"{verb}: {path}"
                score = matcher.match(text)
                if score > 0:
                    hits.append((score, text, kind(path), f"now {row.state}"))
        hits.sort(key=lambda h: -h[0])
        for score, text, message, help_text in hits[:MAX_HITS]:
            yield Hit(score, matcher.highlight(text), partial(tree.post_message, message), help=help_text)
