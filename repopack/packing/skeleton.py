"""An elided view of a source file that keeps its original line numbers.

Every kept line is printed as its 1-based line number, right-aligned to the width of
the file's last line number, then ``│`` and a space::

     1│ # HTTP helpers.
     2│ import os
      ⋮ 13 lines
    16│ def fetch(url: str) -> bytes:
    17│     # Download one URL.
      ⋮ 3 lines

A run of elided lines becomes one marker line, the gutter's width of spaces then
``⋮ N lines`` (runs of blank lines are dropped without a marker, and a run is
printed as is when its marker would be longer than the run).

Kept: the file's leading comment or docstring, imports, every definition's
signature (multi-line signatures whole, decorators and attributes above it), the
first few lines of its docstring or doc comment, and the whole of small classes,
structs and types that have no methods.  Everything else is elided, so a skeleton
is never longer than ``number_lines`` of the same text.
"""

from __future__ import annotations

import re

from repopack.packing.parse import FileSymbols

DOC_LINES = 3  # lines of a docstring or doc comment that are kept
SMALL_TYPE_LINES = 12  # classes/structs/types this short, with no functions inside, are kept whole
_MAX_SIGNATURE_LINES = 30
_GUTTER = "│"

_CURLY_COMMENTS = ("//", "/*", "*", "*/")
_COMMENTS: dict[str, tuple[str, ...]] = {
    "python": ("#",),
    "ruby": ("#",),
    "bash": ("#",),
    "lua": ("--",),
    "php": (*_CURLY_COMMENTS, "#"),
}
_JS_IMPORT = r"import\b|export\s.*\bfrom\b|(const|let|var)\s.*=\s*require\("
# Imports, kept whole when parenthesised over several lines.
_IMPORT_LINE: dict[str, re.Pattern[str]] = {
    lang: re.compile(pattern)
    for lang, pattern in {
        "python": r"(import|from)\s",
        "javascript": _JS_IMPORT,
        "typescript": _JS_IMPORT,
        "tsx": _JS_IMPORT,
        "go": r"(import|package)\b",
        "rust": r"(pub(\(\w+\))?\s+)?(use\s|extern\s+crate\s|mod\s+\w+\s*;)",
        "java": r"(import|package)\s",
        "c": r"#\s*include\b",
        "cpp": r"#\s*include\b",
        "csharp": r"(global\s+)?using\s|namespace\s",
        "ruby": r"(require|require_relative|load)\b",
        "php": r"(use|namespace|require|require_once|include|include_once)\b",
        "lua": r"(local\s+\w+\s*=\s*)?require\b",
        "bash": r"(source|\.)\s",
    }.items()
}
# One-line headers that say what the definitions after them belong to.
_CONTEXT_LINE: dict[str, re.Pattern[str]] = {"rust": re.compile(r"\s*(unsafe\s+)?impl\b")}
_DOCSTRING = re.compile(r"[rRuUbB]?(\"\"\"|''')")
_DECORATION = ("@", "#[")


def number_lines(text: str) -> str:
    """The whole text with every line prefixed by its number, as in skeletons."""
    lines = _lines(text)
    width = len(str(len(lines)))
    return "\n".join(_numbered(number, line, width) for number, line in enumerate(lines, 1))


def skeleton_text(text: str, symbols: FileSymbols) -> str:
    """Imports, signatures, short docs and constants of ``text``, bodies elided."""
    lines = _lines(text)
    return render_kept(lines, skeleton_keep(lines, symbols))


def skeleton_keep(lines: list[str], symbols: FileSymbols) -> list[bool]:
    """Which lines a skeleton keeps: ``keep[n]`` for the 1-based line ``n`` (``keep[0]`` is unused)."""
    keep = [False] * (len(lines) + 1)  # 1-based
    comments = _COMMENTS.get(symbols.language or "", _CURLY_COMMENTS)

    def mark(first: int, last: int) -> None:
        for number in range(max(first, 1), min(last, len(lines)) + 1):
            keep[number] = True

    mark(*_leading_doc(lines, comments))
    imports = _IMPORT_LINE.get(symbols.language or "")
    if imports is not None:
        for number, line in enumerate(lines, 1):
            if imports.match(line):
                mark(number, _balanced_end(lines, number))
    context = _CONTEXT_LINE.get(symbols.language or "")
    if context is not None:
        for number, line in enumerate(lines, 1):
            if context.match(line):
                mark(number, number)

    functions = [d.line for d in symbols.defs if d.kind in ("function", "method")]
    for symbol in symbols.defs:
        end = _signature_end(lines, symbol.line, symbol.signature)
        mark(symbol.line, end)
        first = symbol.line
        while first > 1 and lines[first - 2].lstrip().startswith(_DECORATION):
            first -= 1
        mark(first, symbol.line)
        doc_end = first - 1
        doc_start = doc_end
        while doc_start >= 1 and _is_comment(lines[doc_start - 1], comments):
            doc_start -= 1
        mark(doc_start + 1, min(doc_end, doc_start + DOC_LINES))
        mark(*_docstring(lines, end + 1))
        small = symbol.end_line - symbol.line < SMALL_TYPE_LINES
        if symbol.kind in ("class", "interface", "type") and small:
            if not any(symbol.line <= line <= symbol.end_line for line in functions):
                mark(symbol.line, symbol.end_line)
    return keep


BLANKS_SHOWN = 2  # a run of up to this many blank lines between kept lines is shown (numbered)


def render_kept(lines: list[str], keep: list[bool]) -> str:
    """The kept lines with their numbers; each run of elided lines becomes one ``⋮ N lines`` marker."""
    width = len(str(len(lines)))
    out: list[str] = []
    number = 1
    while number <= len(lines):
        if keep[number]:
            out.append(_numbered(number, lines[number - 1], width))
            number += 1
            continue
        run_end = number
        while run_end + 1 <= len(lines) and not keep[run_end + 1]:
            run_end += 1
        run = [_numbered(n, lines[n - 1], width) for n in range(number, run_end + 1)]
        marker = " " * width + f"⋮ {run_end - number + 1} line{'s' if run_end > number else ''}"
        if any(lines[n - 1].strip() for n in range(number, run_end + 1)):
            out.extend(run if len("\n".join(run)) <= len(marker) else [marker])
        elif number > 1 and run_end < len(lines) and run_end - number < BLANKS_SHOWN:
            out.extend(run)  # blank lines between kept ones: exact context for a patch that goes there
        number = run_end + 1
    return "\n".join(out)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as skeletons number them (1-based: line ``n`` is ``split_lines(text)[n - 1]``)."""
    return _lines(text)


def numbered_line(number: int, line: str, width: int) -> str:
    return _numbered(number, line, width)


def leading_doc(lines: list[str], language: str | None) -> tuple[int, int]:
    """The first and last line of the file's opening comment or docstring as skeletons keep it ((0, 0): none)."""
    return _leading_doc(lines, _COMMENTS.get(language or "", _CURLY_COMMENTS))


def import_starts(lines: list[str], language: str | None) -> list[tuple[int, int]]:
    """The first and last line of each import statement (parenthesised ones span several lines)."""
    imports = _IMPORT_LINE.get(language or "")
    if imports is None:
        return []
    out: list[tuple[int, int]] = []
    for number, line in enumerate(lines, 1):
        if out and number <= out[-1][1]:
            continue
        if imports.match(line):
            out.append((number, _balanced_end(lines, number)))
    return out


def _lines(text: str) -> list[str]:
    # Split on "\n" only, as tree-sitter counts rows; str.splitlines would also split on \f, \x1c, ...
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines[-1] == "":
        lines.pop()  # the newline ends the last line; it does not start another
    return lines


def _numbered(number: int, line: str, width: int) -> str:
    return f"{number:>{width}}{_GUTTER} {line}".rstrip()


def _is_comment(line: str, comments: tuple[str, ...]) -> bool:
    return line.lstrip().startswith(comments)


def _leading_doc(lines: list[str], comments: tuple[str, ...]) -> tuple[int, int]:
    """The first lines of the file's header comment or module docstring."""
    number = 1
    if lines and lines[0].startswith("#!"):
        number = 2
    if number <= len(lines) and _is_comment(lines[number - 1], comments):
        end = number
        while end < len(lines) and _is_comment(lines[end], comments):
            end += 1
        return 1, min(end, number + DOC_LINES - 1)
    first, last = _docstring(lines, number)
    return (1, last) if last else (0, 0)


def _docstring(lines: list[str], number: int) -> tuple[int, int]:
    """Up to DOC_LINES lines of a Python docstring starting at line ``number``."""
    if number > len(lines):
        return 0, 0
    match = _DOCSTRING.match(lines[number - 1].lstrip())
    if match is None:
        return 0, 0
    quote = match.group(1)
    rest = lines[number - 1].lstrip()[match.end() :]
    end = number
    if quote not in rest:
        while end < len(lines) and quote not in lines[end]:
            end += 1
        end += 1
    return number, min(end, number + DOC_LINES - 1)


def _signature_end(lines: list[str], line: int, signature: str) -> int:
    """The last line of a definition's signature, which may span several lines."""
    target = len(re.sub(r"\s+", "", signature.removesuffix("…")))
    seen = 0
    for number in range(line, min(len(lines), line + _MAX_SIGNATURE_LINES) + 1):
        seen += len(re.sub(r"\s+", "", lines[number - 1]))
        if seen >= target:
            return number
    return line


def _balanced_end(lines: list[str], line: int) -> int:
    """The line closing a parenthesised import such as Go's ``import (`` or Python's ``from x import (``."""
    depth = 0
    for number in range(line, min(len(lines), line + 200) + 1):
        depth += lines[number - 1].count("(") - lines[number - 1].count(")")
        depth += lines[number - 1].count("{") - lines[number - 1].count("}")
        if depth <= 0:
            return number
    return line
