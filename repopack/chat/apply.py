"""Apply parsed edits to a working tree safely, and undo them exactly.

Safety rules, each a one-line rejection reason rather than an exception:

- only relative paths that stay inside the root: no absolute paths, no ``..``, no
  path through a symlink that leads out, no symlink as the target, nothing under
  ``.git/`` (or repopack's own ``.repopack/``);
- a file whose bytes changed since it was packed (``expected_hashes``) is refused;
- every hunk of a file must apply, or nothing of that file is written; hunks are
  found at their stated line first, then anywhere by exact context (nearest wins),
  then by whitespace-insensitive context near the stated line;
- writes are atomic (temp file in the same directory + ``os.replace``, mode kept).

Before anything is written the previous bytes of every touched file (or the fact
that it did not exist) go to an undo record in the user data directory, outside the
work tree (`repopack.chat.undo`); `undo_last` there puts them back byte for byte.

Redaction: the model saw ``[REDACTED:…]`` markers instead of secrets.  Hunks are
matched against the redacted view of the file; lines the hunk keeps are written
from the real file.  A marker in a ``+`` line gets a secret back only from the line it
replaces (the ``-`` line at the same place in the same change block) and only a
secret of the same type that stood there (the k-th marker of a type gets that line's
k-th value of the type).  A marker in a line the model added, moved from elsewhere,
or re-typed is refused with a reason, so an edit can never copy a secret into new
text (a URL, another variable) and never leaves a marker in place of a value.

Files the model did not see (not in ``packed``) are edited only with the caller's
say-so (``allow_unpacked``: True, or a function asked per path).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from repopack.chat.edits import FileEdit, Hunk
from repopack.chat.undo import discard_record, write_record
from repopack.errors import ApplyError
from repopack.packing.redaction import MARKER_RE, Redaction
from repopack.util.fs import atomic_write
from repopack.util.names import display_name, raw_name

_FORBIDDEN_PARTS = {".git", ".repopack"}
_NEAR_LINES = 200  # how far from the stated line a whitespace-insensitive match may be

RedactionLookup = Mapping[str, Redaction] | Callable[[str], Redaction | None]
AllowUnpacked = bool | Callable[[str], bool]


@dataclass(frozen=True)
class Rejection:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class ApplyResult:
    applied: tuple[str, ...]
    rejected: tuple[Rejection, ...]
    journal: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class _Change:
    """One file's planned outcome: new bytes, or None to delete it."""

    path: str
    target: Path
    previous: bytes | None
    new: bytes | None
    mode: int | None


class _Reject(Exception):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def apply_edits(
    root: Path,
    edits: Sequence[FileEdit],
    *,
    expected_hashes: Mapping[str, str] | None = None,
    redaction_lookup: RedactionLookup | None = None,
    packed: Collection[str] | None = None,
    allow_unpacked: AllowUnpacked = False,
) -> ApplyResult:
    """Apply ``edits`` under ``root``; files that cannot be applied are reported, not written.

    ``packed``: the files whose content the model saw; an edit to an existing file outside
    it is applied only when ``allow_unpacked`` is True or returns True for that path.
    """
    root = root.resolve()
    rejected: list[Rejection] = []
    changes: dict[str, _Change] = {}
    for path, group in _group_by_target(edits):
        try:
            for change in _plan(root, path, group, expected_hashes, redaction_lookup, changes, packed, allow_unpacked):
                changes[change.path] = change
        except _Reject as exc:
            rejected.append(Rejection(path, str(exc)))
    if not changes:
        return ApplyResult((), tuple(rejected), None)
    journal = write_record(root, changes.values())
    written: list[_Change] = []
    try:
        for change in changes.values():
            _write(change)
            written.append(change)
    except OSError as exc:
        for change in reversed(written):
            _restore(change.target, change.previous, change.mode)
        discard_record(journal)
        raise ApplyError(f"could not write {change.path}: {exc.strerror or exc}; nothing was changed") from exc
    return ApplyResult(tuple(changes), tuple(rejected), journal)


# -- planning ---------------------------------------------------------------------------


def _check_packed(source_path: str, source: Path, first: FileEdit, packed: Collection[str] | None,
                  allow_unpacked: AllowUnpacked) -> None:
    if packed is None or first.is_new or source_path in packed or not source.exists():
        return  # nothing there to protect, or the model saw it
    if allow_unpacked is True or (callable(allow_unpacked) and allow_unpacked(source_path)):
        return
    raise _Reject("was not in the pack the model saw; pass --allow-unpacked to edit it anyway")


def _group_by_target(edits: Iterable[FileEdit]) -> list[tuple[str, list[FileEdit]]]:
    groups: dict[str, list[FileEdit]] = {}
    for edit in edits:
        groups.setdefault(edit.path, []).append(edit)
    return list(groups.items())


def _plan(
    root: Path,
    path: str,
    group: list[FileEdit],
    expected_hashes: Mapping[str, str] | None,
    redaction_lookup: RedactionLookup | None,
    planned: Mapping[str, _Change],
    packed: Collection[str] | None = None,
    allow_unpacked: AllowUnpacked = False,
) -> list[_Change]:
    target = safe_target(root, path)
    source_path = path
    first = group[0]
    if first.is_rename and first.old_path is not None:
        source_path = first.old_path
    source = safe_target(root, source_path) if source_path != path else target
    if path in planned or source_path in planned:
        raise _Reject("already changed by another edit in this answer")
    _check_packed(source_path, source, first, packed, allow_unpacked)

    exists = source.exists()
    if first.is_new:
        if target.exists():
            raise _Reject("the diff creates it but it already exists")
        previous = None
    else:
        if not exists:
            raise _Reject("does not exist")
        if not source.is_file():
            raise _Reject("is not a regular file")
        previous = source.read_bytes()
        expected = (expected_hashes or {}).get(source_path)
        if expected is not None and sha256_hex(previous) != expected:
            raise _Reject("changed since it was packed; ask again to get a diff against the current file")

    text = ""
    if previous is not None:
        try:
            text = previous.decode("utf-8")
        except UnicodeDecodeError:
            raise _Reject("is not UTF-8 text") from None
    redaction = _lookup(redaction_lookup, source_path)
    document = _Document(text, redaction)
    for edit in group:
        for number, hunk in enumerate(edit.hunks, 1):
            document.apply(hunk, number)
    if group[-1].is_deleted:
        if document.lines and document.lines != [""]:
            raise _Reject("the diff deletes it but does not remove all of its lines")
        new: bytes | None = None
    else:
        new = document.render().encode("utf-8")
    mode = stat.S_IMODE(source.stat().st_mode) if previous is not None else None

    changes = []
    if source != target:  # rename: remove the old path, create the new one
        changes.append(_Change(source_path, source, previous, None, mode))
        if target.exists():
            raise _Reject("the diff renames a file onto an existing one")
        changes.append(_Change(path, target, None, new, mode))
    else:
        changes.append(_Change(path, target, previous, new, mode))
    return changes


def safe_target(root: Path, rel: str) -> Path:
    """``root / rel`` if writing there stays inside ``root``; else raise with the reason.

    ``rel`` is a display name: a file whose name is not UTF-8 is named under its escape
    (``latin1_\\xe9.py``) and written under its real bytes."""
    if not rel or rel.strip() != rel or "\0" in rel:
        raise _Reject("empty or malformed path")
    raw = raw_name(rel)
    if display_name(raw) != rel:
        raise _Reject("malformed path (not a name as repopack shows it)")
    real = os.fsdecode(raw)
    if "\\" in real:
        raise _Reject("backslash in path")
    if re.search(r"[\x00-\x1f\x7f]", real) and not os.path.lexists(os.path.join(root, real)):
        raise _Reject("control character in the name of a new file")
    rel = real
    if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel) or rel.startswith("~"):
        raise _Reject("absolute path; only paths inside the repository are allowed")
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        raise _Reject("path leaves the repository ('..')")
    if any(part in _FORBIDDEN_PARTS for part in parts):
        raise _Reject(f"path inside {next(p for p in parts if p in _FORBIDDEN_PARTS)}/ is never written")
    target = root.joinpath(*parts)
    # Every existing ancestor must resolve inside root (a symlinked directory may not lead out).
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    resolved = parent.resolve()
    if resolved != root and root not in resolved.parents:
        raise _Reject("path goes through a symlink that leaves the repository")
    if target.is_symlink():
        raise _Reject("is a symlink; edit the file it points to instead")
    return target


def _lookup(lookup: RedactionLookup | None, path: str) -> Redaction | None:
    if lookup is None:
        return None
    if callable(lookup):
        return lookup(path)
    return lookup.get(path)


class _Document:
    """A file as lines, with the redacted view hunks are matched against and, per line,
    the (type, value) of each marker the model saw on it."""

    def __init__(self, text: str, redaction: Redaction | None) -> None:
        self.eol = "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"
        self.final_newline = text.endswith("\n") or text == ""
        self.lines = self._split(text)
        self.view = list(self.lines)
        self.marks: list[list[tuple[str, str]]] = [[] for _ in self.lines]
        if redaction is not None and redaction.spans and _fits(redaction, text):
            view = self._split(redaction.text)
            if len(view) == len(self.lines):
                self.view = view
                for index, marks in redaction.markers_by_line().items():
                    if index < len(self.marks):
                        self.marks[index] = list(marks)
        self.offset = 0

    def _split(self, text: str) -> list[str]:
        body = text[: -len(self.eol)] if text.endswith(self.eol) else text.rstrip("\n")
        return body.split(self.eol) if text else []

    def apply(self, hunk: Hunk, number: int) -> None:
        old = hunk.old_lines
        position = self._locate(hunk, old)
        if position is None:
            where = f" near line {hunk.old_start}" if hunk.old_start else ""
            raise _Reject(f"hunk {number}{where} does not match the file")
        new_real: list[str] = []
        new_view: list[str] = []
        new_marks: list[list[tuple[str, str]]] = []
        index = position
        removed: list[int] = []  # the current change block: removed line indices…
        added: list[str] = []  # …and the lines that replace them

        def flush() -> None:
            for k, shown in enumerate(added):
                origin = removed[k] if k < len(removed) else None
                real, marks = self._restore(shown, origin, removed, number)
                new_real.append(real)
                new_view.append(shown)
                new_marks.append(marks)
            removed.clear()
            added.clear()

        for line in hunk.lines:
            if line.kind == " ":
                flush()
                new_real.append(self.lines[index])
                new_view.append(self.view[index])
                new_marks.append(self.marks[index])
                index += 1
            elif line.kind == "-":
                if added:
                    flush()
                removed.append(index)
                index += 1
            else:
                added.append(line.text)
        flush()
        end = position + len(old)
        if hunk.new_ends_without_newline and end >= len(self.lines):
            self.final_newline = False
        elif hunk.old_ends_without_newline and end >= len(self.lines):
            self.final_newline = True
        self.lines[position:end] = new_real
        self.view[position:end] = new_view
        self.marks[position:end] = new_marks
        self.offset += len(new_real) - len(old)

    def _restore(self, shown: str, origin: int | None, removed: list[int],
                 number: int) -> tuple[str, list[tuple[str, str]]]:
        """The real text of a `+` line: its markers get back the secrets of the line it replaces."""
        types = MARKER_RE.findall(shown)
        if not types:
            return shown, []
        marker = f"[REDACTED:{types[0]}]"
        for secret_type in types:
            if not any(t == secret_type for marks in self.marks for t, _ in marks):
                raise _Reject(f"an added line carries a [REDACTED:{secret_type}] marker with no secret to restore")
        if origin is None:
            raise _Reject(f"hunk {number} adds a line with a {marker} marker; a secret is restored only on "
                          f"the line where it stood")
        if any(shown == self.view[other] and shown != self.view[origin] for other in removed if other != origin):
            raise _Reject(f"hunk {number} moves a line with a {marker} marker to another place; "
                          f"a secret is restored only on the line where it stood")
        available: dict[str, list[str]] = {}
        for secret_type, value in self.marks[origin]:
            available.setdefault(secret_type, []).append(value)
        used: dict[str, int] = {}
        marks: list[tuple[str, str]] = []

        def _value(match: re.Match[str]) -> str:
            secret_type = match.group(1)
            n = used.get(secret_type, 0)
            used[secret_type] = n + 1
            values = available.get(secret_type, [])
            if n >= len(values):
                raise _Reject(f"hunk {number} puts a {match.group(0)} marker on line {origin + 1 - self.offset}, "
                              f"where no such secret stood; a secret is restored only where it stood")
            marks.append((secret_type, values[n]))
            return values[n]

        return MARKER_RE.sub(_value, shown), marks

    def _locate(self, hunk: Hunk, old: list[str]) -> int | None:
        size = len(self.view)
        expected = max(0, hunk.old_start - 1 + self.offset) if hunk.old_start else None
        if not old:  # pure insertion: "@@ -5,0 +6,2 @@" inserts after line 5
            return min(size, max(0, hunk.old_start + self.offset)) if hunk.old_start else size
        last = size - len(old)
        if last < 0:
            return None
        order = _nearest_first(expected if expected is not None else 0, last)
        for start in order:
            if self.view[start:start + len(old)] == old:
                return start
        squash = [_squash(line) for line in old]
        for start in order:
            if expected is not None and abs(start - expected) > _NEAR_LINES:
                break
            if [_squash(line) for line in self.view[start:start + len(old)]] == squash:
                return start
        return None

    def render(self) -> str:
        if not self.lines:
            return ""
        return self.eol.join(self.lines) + (self.eol if self.final_newline else "")


def _fits(redaction: Redaction, text: str) -> bool:
    """Was `redaction` made from exactly this text (its spans hold its values)?"""
    if len(redaction.values) != len(redaction.spans):
        return False
    lines = text.split("\n")
    return all(span.line < len(lines) and lines[span.line][span.start:span.end] == value
               for span, value in zip(redaction.spans, redaction.values, strict=True))


def _nearest_first(center: int, last: int) -> list[int]:
    center = min(max(center, 0), last)
    order = [center]
    for distance in range(1, last + 1):
        if center - distance >= 0:
            order.append(center - distance)
        if center + distance <= last:
            order.append(center + distance)
    return order


def _squash(line: str) -> str:
    return " ".join(line.split())


# -- writing -------------------------------------------------------------------------


def _write(change: _Change) -> None:
    if change.new is None:
        with suppress(FileNotFoundError):
            change.target.unlink()
        return
    atomic_write(change.target, change.new, change.mode)


def _restore(target: Path, previous: bytes | None, mode: int | None) -> None:
    if previous is None:
        with suppress(FileNotFoundError):
            target.unlink()
    else:
        atomic_write(target, previous, mode)
