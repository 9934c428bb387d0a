"""Render a fitted pack as one prompt: xml (default), markdown or plain.

A document is a header (what this is, the directory tree), one block per file and a
footer.  Blocks are self-delimiting and repository content cannot break the framing:
xml neutralises every opening and closing tag of its own elements (`<file`, `</file`,
`<files`, `<repository`, `<directory_structure`, `<summary`) inside a file and inside names,
as `&lt;…`, reversibly (an existing `&lt;file` becomes `&amp;lt;file`); markdown picks a
fence longer than any backtick run in the file (and in the tree); plain picks a separator
longer than any `=` line in it (and in the tree) and closes the block with it too.  Names are display names
(`repopack.util.names`): a newline or other control character in a name is shown escaped,
so a name is always one line.
Every block ends with a newline after punctuation so that the token count of the whole
document is the sum of its parts' counts (the fitter relies on that, and checks).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from repopack import __version__
from repopack.choices import Format, Mode
from repopack.packing.languages import fence_name
from repopack.util.names import display_name

_TAG_NAMES = r"(?:file|files|repository|directory_structure|summary)\b"
_OWN_TAG = re.compile(r"<(/?" + _TAG_NAMES + r")", re.IGNORECASE)
_ESCAPED_TAG = re.compile(r"&((?:amp;)*)lt;(/?" + _TAG_NAMES + r")", re.IGNORECASE)
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
class ExtraBlock:
    """A block that is not a file: git history (`git_diff`, `git_log`), inside the budget like files."""

    kind: str  # "git_diff" | "git_log"
    title: str
    body: str


@dataclass(frozen=True)
class Document:
    repo_name: str
    fmt: Format
    tree_paths: tuple[str, ...]  # every path shown in the tree (blocks and path-only files)
    unlisted: int  # files in the repo that are neither in a block nor in the tree
    blocks: tuple[FileBlock, ...]
    encoding: str
    query: str | None = None
    extras: tuple[ExtraBlock, ...] = ()  # after the files, right before the question
    part: tuple[int, int] | None = None  # (i, n) for one of n standalone parts (--split-output)


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


_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                               "\t": "&#9;"})


def quoteattr(value: str) -> str:
    """An xml attribute value, always in double quotes (saxutils' switches to single ones)."""
    return '"' + value.translate(_ATTR_ESCAPES) + '"'


def escape_tags(text: str) -> str:
    """Neutralise the xml format's own tags in `text`, reversibly (see `unescape_tags`)."""
    if "<" not in text and "&" not in text:
        return text
    text = _ESCAPED_TAG.sub(lambda m: "&amp;" + m.group(1) + "lt;" + m.group(2), text)
    return _OWN_TAG.sub(lambda m: "&lt;" + m.group(1), text)


def unescape_tags(text: str) -> str:
    """The original of an `escape_tags` text (what a reader of an xml pack does to a body)."""
    def _back(m: re.Match[str]) -> str:
        ampersands = m.group(1)
        return ("&" + ampersands[4:] + "lt;" if ampersands else "<") + m.group(2)

    return _ESCAPED_TAG.sub(_back, text)


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


def _name(name: str) -> str:
    """A repository's name on one line, control characters escaped like file names."""
    return display_name(os.fsencode(name))


def render_header(doc: Document) -> str:
    tree = render_tree(doc.tree_paths, doc.unlisted)
    intro = _intro(doc)
    if doc.part is not None:
        intro += (f"\nThis is part {doc.part[0]} of {doc.part[1]}: each part is a standalone prompt holding "
                  "some of the files; the tree lists this part's files.")
    if doc.fmt == "xml":
        return (
            f"<repository name={quoteattr(doc.repo_name)}>\n<summary>\n{escape_tags(intro)}\n</summary>\n"
            f"<directory_structure>\n{escape_tags(tree)}\n</directory_structure>\n<files>\n"
        )
    if doc.fmt == "markdown":
        fence = _fence(tree)
        return (f"# Repository: {_name(doc.repo_name)}\n\n{intro}\n\n## Directory structure\n\n{fence}\n{tree}\n"
                f"{fence}\n\n## Files\n\n")
    sep = _separator(tree)
    return f"{sep}\nRepository: {_name(doc.repo_name)}\n{sep}\n{intro}\n\n{sep}\nDirectory structure\n{sep}\n{tree}\n\n"


def render_footer(doc: Document) -> str:
    extras = "".join(render_extra(e, doc.fmt) for e in doc.extras)
    if doc.fmt == "xml":
        return "</files>\n" + extras + "</repository>\n"
    return extras


_EXTRA_TAG = re.compile(r"<(/?(?:git_diff|git_log)\b)", re.IGNORECASE)


def render_extra(block: ExtraBlock, fmt: str) -> str:
    """A git history block; like file blocks, its content cannot close it."""
    body = block.body if block.body.endswith("\n") or not block.body else block.body + "\n"
    if fmt == "xml":
        body = _EXTRA_TAG.sub(lambda m: "&lt;" + m.group(1), escape_tags(body))
        return f"<{block.kind} title={quoteattr(block.title)}>\n{body}</{block.kind}>\n"
    if fmt == "markdown":
        fence = _fence(body)
        lang = "diff" if block.kind == "git_diff" else "text"
        return f"## {block.title}\n\n{fence}{lang}\n{body}{fence}\n\n"
    sep = _separator(body)
    return f"{sep}\n{block.title}\n{sep}\n{body}{sep}\n\n"


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
        label = f" ({block.mode})" if block.mode in (Mode.SKELETON, Mode.FOCUSED) else ""
        return f"### {block.path}{label}\n\n{fence}{fence_name(block.language)}\n", f"{fence}\n\n"
    sep = _separator(block.body)
    label = f" ({block.mode})" if block.mode in (Mode.SKELETON, Mode.FOCUSED) else ""
    return f"{sep}\nFile: {block.path}{label}\n{sep}\n", f"{sep}\n\n"  # the body ends at its own separator


def escape_body(body: str, fmt: Format) -> str:
    if fmt == "xml":
        body = escape_tags(body)
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
