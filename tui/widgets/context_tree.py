"""The repository as a tree: each file's state in the pack and its tokens.

Folders are filled in when first expanded, so a 7,000-file tree opens at once.  Labels
are drawn from the current `ContextView` at render time: a re-pack repaints, it does not
rebuild nodes (unless files appeared or vanished).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from repopack.util.fmt import format_count

from ..state import STATE_EXCLUDED, STATE_IMAGE, ContextView, is_excluded

GLYPHS = {
    "full": ("■", "green"),
    "skeleton": ("◧", "yellow"),
    "path": ("·", "bright_black"),
    "dropped": ("○", "bright_black"),
    STATE_EXCLUDED: ("✗", "red"),
}


IMAGE_GLYPH = ("▣", "magenta")  # only images chosen for a question show it (the legend adds it then)

EXPAND_ALL_BELOW = 40  # small repositories open fully expanded


class ContextTree(Tree[str]):
    """Node data: "" for the root, "dir/" for folders, the repo-relative path for files."""

    BINDINGS = [
        Binding("x", "toggle_context", "In/out"),
        Binding("f", "pin", "Pin focus"),
    ]

    DEFAULT_CSS = """
    ContextTree {
        height: 1fr;
        background: $surface;
    }
    """

    class ToggleRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class PinRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, repo_name: str, *, id: str | None = None) -> None:  # noqa: A002
        self.context_view: ContextView | None = None
        self._children: dict[str, list[str]] = {}
        self._totals: dict[str, tuple[int, int, int]] = {}
        self._filled: set[str] = set()
        super().__init__(repo_name + "/", data="", id=id)
        self.guide_depth = 2

    # --- data -------------------------------------------------------------
    def show_view(self, view: ContextView) -> None:
        first = self.context_view is None
        before = set(self.context_view.rows) if self.context_view is not None else set()
        changed = first or set(view.rows) != before
        self.context_view = view
        self._totals = view.folder_totals()
        if changed:
            self._rebuild(expand_top=first)
            if not first:  # what a question brought in (an image it attached) is shown, not folded away
                for path in sorted(set(view.rows) - before)[:EXPAND_ALL_BELOW]:
                    self._reveal(path)
        self.root.refresh()  # every line's path includes the root: all labels redraw

    def _rebuild(self, expand_top: bool) -> None:
        assert self.context_view is not None
        children: dict[str, set[str]] = {}
        for path in self.context_view.rows:
            parent = ""
            for part in path.split("/")[:-1]:
                folder = parent + part + "/"
                children.setdefault(parent, set()).add(folder)
                parent = folder
            children.setdefault(parent, set()).add(path)
        self._children = {k: sorted(v, key=lambda p: (not p.endswith("/"), p.lower())) for k, v in children.items()}
        expanded = {n.data for n in self._walk(self.root) if n.is_expanded and n.data is not None}
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self._filled = set()
        self._fill(self.root)
        self.root.expand()
        for folder in sorted(expanded, key=len):
            node = self._find(folder)
            if node is not None:
                self._fill(node)
                node.expand()
        if expand_top and len(self.context_view.rows) <= EXPAND_ALL_BELOW:
            stack = [self.root]
            while stack:
                node = stack.pop()
                self._fill(node)
                node.expand()
                stack += [c for c in node.children if c.allow_expand]
        if cursor:
            node = self._find(cursor)
            if node is not None:
                self.move_cursor(node)

    def _fill(self, node: TreeNode[str]) -> None:
        key = node.data or ""
        if key in self._filled:
            return
        self._filled.add(key)
        for child in self._children.get(key, ()):
            name = child[len(key):]
            if child.endswith("/"):
                node.add(name, data=child)
            else:
                node.add_leaf(name, data=child)

    def _walk(self, node: TreeNode[str]) -> list[TreeNode[str]]:
        out = [node]
        for child in node.children:
            out += self._walk(child)
        return out

    def _find(self, path: str) -> TreeNode[str] | None:
        node: TreeNode[str] | None = self.root
        prefix = ""
        parts = path.rstrip("/").split("/")
        for i, part in enumerate(parts):
            if node is None:
                return None
            self._fill(node)
            prefix += part + ("/" if i < len(parts) - 1 or path.endswith("/") else "")
            node = next((c for c in node.children if c.data == prefix), None)
        return node

    def select_path(self, path: str) -> None:
        """Move the cursor to a file or folder, expanding its parents."""
        node = self._reveal(path)
        if node is not None:
            self.move_cursor(node)

    def _reveal(self, path: str) -> TreeNode[str] | None:
        node = self._find(path)
        parent = node.parent if node is not None else None
        while parent is not None:
            parent.expand()
            parent = parent.parent
        return node

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._fill(event.node)

    # --- drawing ------------------------------------------------------------
    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) if node.allow_expand else ""
        label = Text.assemble((prefix, base_style), self._label_for(node))
        label.stylize(style)
        return label

    def _label_for(self, node: TreeNode[str]) -> Text:
        path = node.data or ""
        view = self.context_view
        name = str(node.label)
        if view is None:
            return Text(name)
        if path == "" or path.endswith("/"):
            tokens, packed, files = self._totals.get(path, (0, 0, 0)) if path else (view.meter.used, 0, 0)
            out = is_excluded(path, view.excluded) if path else False
            text = Text(name, style="strike bright_black" if out else "bold")
            if path:
                text.append(f"  {format_count(tokens)}", style="bright_black")
                text.append(f"  {packed}/{files}", style="bright_black")
            return text
        row = view.rows.get(path)
        state = row.state if row is not None else STATE_EXCLUDED
        glyph, color = IMAGE_GLYPH if state == STATE_IMAGE else GLYPHS[state if state != "focused" else "skeleton"]
        text = Text.assemble((glyph + " ", color))
        text.append(name, style="strike bright_black" if state == STATE_EXCLUDED else "")
        if path in view.pinned:
            text.append(" *", style="bold magenta")
        if row is not None:
            if state in ("skeleton", "focused") and row.full_tokens:
                text.append(f"  {format_count(row.tokens)}/{format_count(row.full_tokens)}", style="yellow")
            elif state == STATE_IMAGE:
                text.append(f"  {format_count(row.tokens)} image", style="magenta")
            elif row.tokens:
                text.append(f"  {format_count(row.tokens)}", style="green")
            elif row.full_tokens:
                text.append(f"  ({format_count(row.full_tokens)})", style="bright_black")
        return text

    # --- actions ------------------------------------------------------------
    def action_toggle_context(self) -> None:
        node = self.cursor_node
        if node is not None and node.data:
            self.post_message(self.ToggleRequested(node.data))

    def action_pin(self) -> None:
        node = self.cursor_node
        if node is not None and node.data and not node.data.endswith("/"):
            self.post_message(self.PinRequested(node.data))
