"""Turn a model's answer into file edits: unified diffs in fenced blocks.

Models write diffs loosely: counts in ``@@`` headers that do not add up, blank
context lines without their leading space, paths with or without ``a/``/``b/``,
several files in one block, prose between blocks.  Each diff is read with
``unidiff`` first (strict, so it catches nothing it should not) and, when that
fails, with a tolerant line parser here.  Line numbers are kept as hints only;
`repopack.chat.apply` locates hunks by their context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

import unidiff

from repopack.util.names import git_unquote

DEV_NULL = "/dev/null"
_FENCE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_HUNK_HEADER = re.compile(r"^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+ ?(.*)$")
_LOOSE_HUNK_HEADER = re.compile(r"^@@+.*$")
_DIFF_LANGS = {"diff", "patch", "udiff", "git", ""}

LineKind = Literal[" ", "-", "+"]


@dataclass(frozen=True)
class HunkLine:
    kind: LineKind
    text: str  # without the line ending


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` hunk.  Starts are 1-based hints (0 when the header had none)."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[HunkLine, ...]
    section: str = ""
    old_ends_without_newline: bool = False
    new_ends_without_newline: bool = False

    @property
    def old_lines(self) -> list[str]:
        return [line.text for line in self.lines if line.kind != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [line.text for line in self.lines if line.kind != "-"]


@dataclass(frozen=True)
class FileEdit:
    path: str  # the file to write (the old path for deletions)
    old_path: str | None  # None for new files; differs from path for renames
    hunks: tuple[Hunk, ...]
    is_new: bool = False
    is_deleted: bool = False

    @property
    def is_rename(self) -> bool:
        return self.old_path is not None and self.old_path != self.path and not self.is_deleted


def parse_edits(answer_text: str) -> list[FileEdit]:
    """Every file edit in ``answer_text``, in order of appearance."""
    edits: list[FileEdit] = []
    for block in _diff_blocks(answer_text):
        edits.extend(_parse_block(block))
    return edits


def render_diff(edit: FileEdit) -> str:
    """The edit as a conventional unified diff (for display; colouring is the caller's)."""
    old = DEV_NULL if edit.is_new else f"a/{edit.old_path or edit.path}"
    new = DEV_NULL if edit.is_deleted else f"b/{edit.path}"
    out = [f"--- {old}", f"+++ {new}"]
    for hunk in edit.hunks:
        old_count = sum(1 for line in hunk.lines if line.kind != "+")
        new_count = sum(1 for line in hunk.lines if line.kind != "-")
        section = f" {hunk.section}" if hunk.section else ""
        out.append(f"@@ -{hunk.old_start},{old_count} +{hunk.new_start},{new_count} @@{section}")
        out.extend(f"{line.kind}{line.text}" for line in hunk.lines)
    return "\n".join(out) + "\n"


# -- finding diffs in the answer ------------------------------------------------------


def diff_fences(answer_text: str) -> list[tuple[int, int]]:
    """Line ranges [start, end) of the fenced blocks (fences included) that hold a diff.

    For display: a front end can show those edits its own way and the prose around them as is.
    """
    return [(start, end) for start, end, _ in _fenced_diffs(_split_lines(answer_text))]


def _fenced_diffs(lines: list[str]) -> Iterator[tuple[int, int, str]]:
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence = match.group("fence")
        info = match.group("info").strip().split(" ")[0].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            body.append(lines[j])
            j += 1
        block = "\n".join(body) + "\n"
        if (info in _DIFF_LANGS or info.endswith("diff")) and _looks_like_diff(block):
            yield i, min(j + 1, len(lines)), block
        i = j + 1


def _diff_blocks(text: str) -> Iterator[str]:
    """Fenced blocks that hold a diff; the whole text when no fence holds one."""
    found = False
    for _, _, block in _fenced_diffs(_split_lines(text)):
        found = True
        yield block
    if not found and _looks_like_diff(text):
        yield text if text.endswith("\n") else text + "\n"


def _split_lines(text: str) -> list[str]:
    """Lines split on "\n" only: str.splitlines() would also split at form feeds and
    other separators that are ordinary characters inside a source line."""
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _looks_like_diff(text: str) -> bool:
    return bool(re.search(r"^--- .*\n\+\+\+ ", text, re.MULTILINE)) or text.startswith("diff --git ")


def _parse_block(block: str) -> list[FileEdit]:
    try:
        patch = unidiff.PatchSet(block)
    except (unidiff.UnidiffParseError, ValueError, IndexError):
        return _TolerantParser(block).parse()
    edits = [_from_unidiff(patched) for patched in patch]
    # unidiff skips what it does not understand (e.g. "@@ ... @@"): then read it loosely.
    headers = sum(1 for line in _split_lines(block) if line.startswith("@@"))
    if not edits or any(edit is None for edit in edits) or headers != sum(len(p) for p in patch):
        return _TolerantParser(block).parse()
    return [edit for edit in edits if edit is not None]


def _from_unidiff(patched: unidiff.PatchedFile) -> FileEdit | None:
    hunks = []
    for hunk in patched:
        lines: list[HunkLine] = []
        old_nl = new_nl = False
        for line in hunk:
            if line.line_type == "\\":
                # "\ No newline at end of file" applies to the line before it.
                if lines and lines[-1].kind in (" ", "-"):
                    old_nl = True
                if lines and lines[-1].kind in (" ", "+"):
                    new_nl = True
                continue
            if line.line_type not in (" ", "-", "+"):
                continue
            kind = cast(LineKind, line.line_type)
            lines.append(HunkLine(kind, line.value.rstrip("\r\n")))
        hunks.append(Hunk(hunk.source_start, hunk.source_length, hunk.target_start, hunk.target_length,
                          tuple(lines), hunk.section_header or "", old_nl, new_nl))
    return _make_edit(patched.source_file, patched.target_file, hunks)


def _make_edit(source: str | None, target: str | None, hunks: list[Hunk]) -> FileEdit | None:
    old = _clean_path(source, "a/")
    new = _clean_path(target, "b/")
    is_new = old is None or old == DEV_NULL
    is_deleted = new == DEV_NULL
    if is_new and (new is None or is_deleted):
        return None
    if is_deleted:
        if old is None:
            return None
        return FileEdit(path=old, old_path=old, hunks=tuple(hunks), is_new=False, is_deleted=True)
    path = new if new is not None else old
    if path is None:
        return None
    return FileEdit(path=path, old_path=None if is_new else old, hunks=tuple(hunks), is_new=is_new)


def _clean_path(raw: str | None, prefix: str) -> str | None:
    if raw is None:
        return None
    path = raw.split("\t", 1)[0].strip()
    if len(path) >= 2 and path[0] == path[-1] == '"':
        unquoted = git_unquote(path)  # git quotes names with unusual bytes: "a/latin1_\351.py"
        path = unquoted if unquoted != path else path[1:-1]
    if not path:
        return None
    if path == DEV_NULL:
        return DEV_NULL
    if path.startswith(prefix):
        path = path[len(prefix):]
    return path


class _TolerantParser:
    """Line parser for diffs unidiff rejects (miscounted hunks, bare blank lines)."""

    def __init__(self, block: str) -> None:
        self.lines = _split_lines(block)
        self.edits: list[FileEdit] = []
        self.source: str | None = None
        self.target: str | None = None
        self.hunks: list[Hunk] = []
        self.have_file = False

    def parse(self) -> list[FileEdit]:
        i = 0
        pending_git: tuple[str | None, str | None] | None = None
        while i < len(self.lines):
            line = self.lines[i]
            if line.startswith("diff --git "):
                self._finish_file()
                pending_git = _git_header_paths(line)
                self.source, self.target = pending_git
                self.have_file = True
                i += 1
            elif line.startswith("--- ") and i + 1 < len(self.lines) and self.lines[i + 1].startswith("+++ "):
                if not (pending_git and not self.hunks):
                    self._finish_file()
                pending_git = None
                self.source, self.target = line[4:], self.lines[i + 1][4:]
                self.have_file = True
                i += 2
            elif line.startswith("rename from ") and self.have_file:
                self.source = "a/" + line[len("rename from "):]
                i += 1
            elif line.startswith("rename to ") and self.have_file:
                self.target = "b/" + line[len("rename to "):]
                i += 1
            elif _LOOSE_HUNK_HEADER.match(line) and self.have_file:
                i = self._read_hunk(i)
            else:
                i += 1
        self._finish_file()
        return self.edits

    def _read_hunk(self, i: int) -> int:
        header = _HUNK_HEADER.match(self.lines[i])
        if header:
            old_start, old_count = int(header.group(1)), int(header.group(2) or 1)
            new_start, new_count = int(header.group(3)), int(header.group(4) or 1)
            section = header.group(5).strip()
        else:  # "@@ ... @@" without numbers: location comes from context alone
            old_start = old_count = new_start = new_count = 0
            section = ""
        lines: list[HunkLine] = []
        old_nl = new_nl = False
        i += 1
        while i < len(self.lines):
            line = self.lines[i]
            if line.startswith("@@") or line.startswith("diff --git "):
                break
            if line.startswith("--- ") and i + 1 < len(self.lines) and self.lines[i + 1].startswith("+++ "):
                break
            if line.startswith("\\"):
                if lines and lines[-1].kind != "+":
                    old_nl = True
                if lines and lines[-1].kind != "-":
                    new_nl = True
            elif line == "":
                lines.append(HunkLine(" ", ""))  # a blank context line that lost its space
            elif line[0] in " -+":
                lines.append(HunkLine(cast(LineKind, line[0]), line[1:]))
            else:
                break  # prose after the diff
            i += 1
        while lines and lines[-1] == HunkLine(" ", "") and _exceeds(lines, old_count, new_count):
            lines.pop()
        if lines:
            self.hunks.append(Hunk(old_start, old_count, new_start, new_count, tuple(lines), section,
                                   old_nl, new_nl))
        return i

    def _finish_file(self) -> None:
        if self.have_file:
            edit = _make_edit(self.source, self.target, self.hunks)
            if edit is not None and (self.hunks or edit.is_deleted or edit.is_rename):
                self.edits.append(edit)
        self.source = self.target = None
        self.hunks = []
        self.have_file = False


def _exceeds(lines: list[HunkLine], old_count: int, new_count: int) -> bool:
    """Whether trailing blank lines run past the header's counts (or there were none)."""
    if old_count == 0 and new_count == 0:
        return True
    old = sum(1 for line in lines if line.kind != "+")
    new = sum(1 for line in lines if line.kind != "-")
    return old > old_count or new > new_count


def _git_header_paths(line: str) -> tuple[str | None, str | None]:
    rest = line[len("diff --git "):]
    match = re.match(r'^"?(a/.+?)"? "?(b/.+?)"?$', rest)
    if match:
        return match.group(1), match.group(2)
    parts = rest.split(" ")
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, None


def edit_summary(edit: FileEdit) -> str:
    """'pyapp/billing.py (+2 -1)', with 'new file' / 'deleted' / 'renamed from' when so."""
    added = sum(1 for h in edit.hunks for line in h.lines if line.kind == "+")
    removed = sum(1 for h in edit.hunks for line in h.lines if line.kind == "-")
    what = f"+{added} -{removed}"
    if edit.is_new:
        what = f"new file, {what}"
    elif edit.is_deleted:
        what = "deleted"
    elif edit.is_rename:
        what = f"renamed from {edit.old_path}, {what}"
    return f"{edit.path} ({what})"
