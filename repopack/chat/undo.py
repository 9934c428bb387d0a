"""Undo records: what an apply changed, kept where no repository can reach them.

A record lives in the user data directory, ``<data dir>/undo/<key>/<stamp>/``, where the key
is a hash of the repository's real path; directories are 0700 and files 0600.  It holds
``manifest.json`` (the repository's real path and, per file: its path, whether it existed,
its mode, the blob with its previous bytes and the SHA-256 of what the apply wrote) and the
blobs.  A journal inside the work tree (``.repopack/undo/``: what older versions wrote, or
what a clone carries) is never read: a repository cannot tell undo what to write.

`undo_last` trusts even its own record only as far as it checks out: the record must name
this repository, every path must pass the checks apply makes (relative, inside the root, no
``..``, no symlink leading out, nothing under ``.git/``), every blob must be a plain file of
the record.  A file that changed since the apply is not overwritten: undo changes nothing and
says which file, unless `confirm` (a question on a terminal, or ``--force``) says to go ahead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from repopack.errors import ApplyError, NothingToUndoError
from repopack.util.names import display_name, fs_name
from repopack.util.paths import data_dir

RECORD_VERSION = 2
KEEP_RECORDS = 20  # per repository; older ones are pruned when a new apply is recorded
IN_TREE_JOURNAL = PurePosixPath(".repopack/undo")  # never read
_BLOB = re.compile(r"^[0-9]{1,6}\.bin$")

Confirm = Callable[[Sequence[str]], bool]


class PlannedChange(Protocol):
    """What apply is about to do to one file (see `repopack.chat.apply`)."""

    @property
    def path(self) -> str: ...
    @property
    def target(self) -> Path: ...
    @property
    def previous(self) -> bytes | None: ...
    @property
    def new(self) -> bytes | None: ...
    @property
    def mode(self) -> int | None: ...


@dataclass(frozen=True)
class _Item:
    path: str
    target: Path
    previous: bytes | None
    after: str | None  # sha256 of what the apply wrote; None: the apply removed the file
    mode: int | None


def records_dir(root: Path) -> Path:
    """Where the undo records of the repository at `root` live (outside any work tree)."""
    real = str(root.resolve())
    key = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return data_dir() / "undo" / key


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(OSError):
        os.chmod(path, 0o700)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_record(root: Path, changes: Iterable[PlannedChange]) -> Path:
    """Record the previous bytes of every file apply is about to change; return the record."""
    root = root.resolve()
    base = records_dir(root)
    for directory in (base.parent.parent, base.parent, base):
        _private_dir(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    entry = base / stamp
    suffix = 0
    while entry.exists():
        suffix += 1
        entry = base / f"{stamp}-{suffix}"
    entry.mkdir(mode=0o700)
    files: list[dict[str, Any]] = []
    created_dirs: set[str] = set()
    for number, change in enumerate(changes):
        after = hashlib.sha256(change.new).hexdigest() if change.new is not None else None
        item: dict[str, Any] = {"path": change.path, "existed": change.previous is not None, "mode": change.mode,
                                "after": after}
        if change.previous is not None:
            blob = f"{number}.bin"
            _write_private(entry / blob, change.previous)
            item["blob"] = blob
        files.append(item)
        parent = change.target.parent
        while not parent.exists():
            created_dirs.add(display_name(os.fsencode(parent.relative_to(root).as_posix())))
            parent = parent.parent
    manifest = {"version": RECORD_VERSION, "root": str(root), "files": files, "created_dirs": sorted(created_dirs)}
    _write_private(entry / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    _prune(base)
    return entry


def discard_record(entry: Path) -> None:
    shutil.rmtree(entry, ignore_errors=True)


def _records(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink() and (p / "manifest.json").is_file())


def _prune(base: Path) -> None:
    for old in _records(base)[:-KEEP_RECORDS]:
        discard_record(old)


def _bad(entry: Path, why: str) -> ApplyError:
    return ApplyError(f"the undo record {entry} {why}; nothing was undone")


def _load(root: Path, entry: Path) -> tuple[list[_Item], list[str]]:
    """The record's items and created directories, each checked as apply checks its paths."""
    from repopack.chat.apply import _Reject, safe_target

    try:
        manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
        version, recorded_root = manifest["version"], manifest["root"]
        raw_files, raw_dirs = manifest["files"], manifest.get("created_dirs", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _bad(entry, f"cannot be read ({exc.__class__.__name__})") from None
    if version != RECORD_VERSION or recorded_root != str(root):
        raise _bad(entry, "belongs to another repository or version")
    if not isinstance(raw_files, list) or not isinstance(raw_dirs, list):
        raise _bad(entry, "is malformed")
    items: list[_Item] = []
    for raw in raw_files:
        try:
            path, existed, mode, after = str(raw["path"]), bool(raw["existed"]), raw.get("mode"), raw.get("after")
            if mode is not None and (not isinstance(mode, int) or not 0 <= mode <= 0o7777):
                raise ValueError
            if after is not None and not (isinstance(after, str) and re.fullmatch(r"[0-9a-f]{64}", after)):
                raise ValueError
            target = safe_target(root, path)
            previous = None
            if existed:
                blob = str(raw["blob"])
                if not _BLOB.match(blob) or (entry / blob).is_symlink():
                    raise ValueError
                previous = (entry / blob).read_bytes()
        except _Reject as exc:
            raise _bad(entry, f"names {raw.get('path')!r}: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise _bad(entry, "is malformed") from None
        items.append(_Item(path, target, previous, after, mode))
    dirs: list[str] = []
    for raw_dir in raw_dirs:
        try:
            safe_target(root, str(raw_dir))
        except _Reject as exc:
            raise _bad(entry, f"names {raw_dir!r}: {exc}") from None
        dirs.append(str(raw_dir))
    return items, dirs


def _changed_since(item: _Item) -> bool:
    """Is the file no longer what the apply left there?"""
    target = item.target
    if item.after is None:
        return os.path.lexists(target)
    if target.is_symlink() or not target.is_file():
        return True
    try:
        return hashlib.sha256(target.read_bytes()).hexdigest() != item.after
    except OSError:
        return True


def undo_last(root: Path, confirm: Confirm | None = None) -> list[str]:
    """Restore the files of the most recent apply in `root` exactly; return their paths.

    Raises `NothingToUndoError` (exit 14) without a record of its own, and `ApplyError`
    (exit 12, nothing changed) when a file changed since the apply and `confirm` does not
    agree to overwrite it, or the record does not check out.
    """
    from repopack.chat.apply import _restore

    root = root.resolve()
    entries = _records(records_dir(root))
    if not entries:
        journal = " (a .repopack/undo/ journal inside the repository is never used)" if (
            root / IN_TREE_JOURNAL).exists() else ""
        raise NothingToUndoError(f"nothing to undo in {root}: no undo record of its own{journal}")
    entry = entries[-1]
    items, created_dirs = _load(root, entry)
    changed = [item.path for item in items if _changed_since(item)]
    if changed and (confirm is None or not confirm(changed)):
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise ApplyError(f"nothing was undone: {shown} changed since the apply, and undo would lose that; "
                         f"use `repopack undo --force` to overwrite")
    restored: list[str] = []
    for item in items:
        _restore(item.target, item.previous, item.mode)
        restored.append(item.path)
    for directory in sorted(created_dirs, key=len, reverse=True):
        with suppress(OSError):
            (root / fs_name(directory)).rmdir()
    discard_record(entry)
    return restored
