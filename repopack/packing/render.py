"""Render a fitted pack as one prompt: xml (default), markdown or plain.

A document is a header (what this is, the directory tree), one block per file and a
footer.  Blocks are self-delimiting and repository content cannot close them:
xml neutralises any `</file` inside a file, markdown picks a fence longer than any
backtick run in the file, plain picks a separator longer than any `=` line in it.
Every block ends with a newline after punctuation so that the token count of the whole
document is the sum of its parts' counts (the fitter relies on that, and checks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from repopack import __version__
from repopack.choices import Format, Mode
from repopack.packing.languages import fence_name

_CLOSE_TAG = re.compile(r"</(file|files|repository)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`{3,}")
_EQUALS_LINE = re.compile(r"^=+", re.MULTILINE)


@dataclass(frozen=True)
class FileBlock:
    path: str
    mode: Mode  # FULL or SKELETON
    body: str
    tokens: int  # tokens of body alone
    language: str | None = None


@dataclass(frozen=True)
class Document:
    repo_name: str
    fmt: Format
    tree_paths: tuple[str, ...]  # every path shown in the tree (blocks and path-only files)
    unlisted: int  # files in the repo that are neither in a block nor in the tree
    blocks: tuple[FileBlock, ...]
    encoding: str
    query: str | None = None


def _tree_lines(paths: Sequence[str]) -> list[str]:
    """An indented tree; directories end with '/'."""
    lines: list[str] = []
    seen_dirs: set[str] = set()
    for path in sorted(paths):
        parts = path.split("/")
        for depth in range(len(parts) - 1):
            d = "/".join(parts[: depth + 1])
            if d not in seen_dirs:
                seen_dirs.add(d)
                lines.append("  " * depth + parts[depth] + "/")
        lines.append("  " * (len(parts) - 1) + parts[-1])
    return lines


def render_tree(paths: Sequence[str], unlisted: int) -> str:
    lines = _tree_lines(paths)
    if unlisted:
        lines.append(f"... {unlisted} more file{'s' if unlisted != 1 else ''} not listed (budget)")
    return "\n".join(lines)


def _intro(doc: Document) -> str:
    """The same words for every pack of a repository: with the system prompt, a prefix that
    providers' prompt caches can reuse from one question to the next (counts live in the blocks)."""
    return (
        f"Packed view of the repository {doc.repo_name!r} made by repopack {__version__} for a language model. "
        "The directory tree lists the files of the repository that fit the budget; each file block "
        "gives its path and content, in full or as a skeleton. A skeleton keeps imports, signatures and "
        "docstrings with their original line numbers and replaces bodies with a line starting with '⋮'."
    )


def render_header(doc: Document) -> str:
    tree = render_tree(doc.tree_paths, doc.unlisted)
    intro = _intro(doc)
    if doc.fmt == "xml":
        return (
            f"<repository name={quoteattr(doc.repo_name)}>\n<summary>\n{intro}\n</summary>\n"
            f"<directory_structure>\n{tree}\n</directory_structure>\n<files>\n"
        )
    if doc.fmt == "markdown":
        return f"# Repository: {doc.repo_name}\n\n{intro}\n\n## Directory structure\n\n```\n{tree}\n```\n\n## Files\n\n"
    sep = "=" * 16
    return f"{sep}\nRepository: {doc.repo_name}\n{sep}\n{intro}\n\n{sep}\nDirectory structure\n{sep}\n{tree}\n\n"


def render_footer(doc: Document) -> str:
    if doc.fmt == "xml":
        return "</files>\n</repository>\n"
    return ""


def _fence(body: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    return "`" * max(3, longest + 1)


def _separator(body: str) -> str:
    longest = max((len(m) for m in _EQUALS_LINE.findall(body)), default=0)
    return "=" * max(16, longest + 1)


def block_wrapper(block: FileBlock, fmt: Format) -> tuple[str, str]:
    """The text before and after a file's body."""
    if fmt == "xml":
        return (f"<file path={quoteattr(block.path)} tokens=\"{block.tokens}\" mode=\"{block.mode}\">\n",
                "</file>\n")
    if fmt == "markdown":
        fence = _fence(block.body)
        label = " (skeleton)" if block.mode == Mode.SKELETON else ""
        return f"### {block.path}{label}\n\n{fence}{fence_name(block.language)}\n", f"{fence}\n\n"
    sep = _separator(block.body)
    label = " (skeleton)" if block.mode == Mode.SKELETON else ""
    return f"{sep}\nFile: {block.path}{label}\n{sep}\n", "\n"


def escape_body(body: str, fmt: Format) -> str:
    if fmt == "xml":
        body = _CLOSE_TAG.sub(lambda m: "&lt;/" + m.group(1), body)
    if body and not body.endswith("\n"):
        body += "\n"
    return body


def render_block(block: FileBlock, fmt: Format) -> str:
    head, tail = block_wrapper(block, fmt)
    return head + escape_body(block.body, fmt) + tail


def render_document(doc: Document) -> str:
    parts = [render_header(doc)]
    parts.extend(render_block(b, doc.fmt) for b in doc.blocks)
    parts.append(render_footer(doc))
    return "".join(parts)
