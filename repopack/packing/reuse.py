"""Reuse the last pack of an unchanged tree.

A pack is a pure function of the files, the settings and the signals.  When every
candidate file has the same stat as when the last pack with these settings was made, the
stored result is returned without reading, scanning or counting anything: the cost of a
repeat `repopack pack` is one `git ls-files` and one `lstat` per file.  Like git's index,
files whose modification time is too close to when the pack was stored ("racy") disable
reuse, so an edit made within the timestamp granularity is never missed.  One entry is
kept per repository and settings, so the store does not grow with edits.

The prompt text itself is not copied: the entry records the stat of the output file just
written (inode, size, times) and reads that file back while it is provably the same one.
If the user deletes or edits it, the entry is a miss and is dropped.  Only a pack written to
stdout is kept as a copy, as a cache row (private, and evicted like any other).  Only
redacted packs are ever remembered: a `--no-redact` pack leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec

from repopack import __version__
from repopack.packing.cache import Cache, decode, encode
from repopack.packing.fit import Packed
from repopack.packing.rank import RankedFile
from repopack.packing.redaction import SecretFinding
from repopack.packing.walk import WalkResult
from repopack.util.limits import RACY_NS  # files changed this close to the stored pack are not trusted
from repopack.util.names import fs_name

NS = Cache.namespace("pack", 4)  # zlib of the msgpack of a StoredPack (see _pack_row)
STAMP_NS = Cache.namespace("pack-stamp", 1)
TEXT_NS = Cache.namespace("pack-text", 1)


@dataclass(frozen=True)
class PackStamp:
    """Which tree a stored pack is of and where its text is: small, read first."""

    fingerprint: str
    stored_ns: int
    text_path: str  # the output file written; "" for a stdout pack, whose text is a cache row
    text_stat: tuple[int, int, int, int, int]  # dev, inode, size, mtime_ns, ctime_ns (zeros for stdout)


@dataclass(frozen=True)
class StoredPack:
    """What the CLI reports about a pack, without file texts or secret values."""

    fingerprint: str  # the stamp's: both rows are of the same pack
    packed: Packed  # with text == ""
    walk: WalkResult  # file texts empty
    ranking: tuple[RankedFile, ...]
    findings: tuple[SecretFinding, ...]
    file_tokens: dict[str, int]


def stat_fingerprint(root: Path, names: Sequence[str],
                     seen: dict[str, os.stat_result] | None = None) -> tuple[str, int]:
    """Hash of every candidate's lstat (and ignore files'), and the newest modification time.
    `seen` collects each lstat, for the walk that follows when the pack is not reused."""
    rows: list[str] = []
    newest = 0
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for name in [*names, ".repopackignore", ".gitignore"]:
            try:
                st = os.lstat(fs_name(name), dir_fd=fd)
            except OSError:
                rows.append(f"{name}\0-")
                continue
            rows.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\0{st.st_mode}")
            if seen is not None:
                seen[name] = st
            if st.st_mtime_ns > newest:
                newest = st.st_mtime_ns
    finally:
        os.close(fd)
    rows.append("")
    digest = hashlib.blake2b("\n".join(rows).encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()
    return digest, newest


def _slot(root: Path, settings: Any, signals: Any) -> str:
    from repopack.packing.secret_rules import rules_version  # a pack redacted by other rules is not reused
    from repopack.packing.stamp import pack_stamp  # nor one that other code made

    key = f"{__version__}\0{pack_stamp()}\0{rules_version()}\0{root}\0{settings!r}\0{signals!r}"
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def stored(cache: Cache, root: Path, settings: Any, signals: Any) -> bool:
    """Was a pack with these settings and signals kept for this root?  (A new question never was:
    its pack cannot be reused, whatever the files' stats say.)"""
    return cache.get(STAMP_NS, _slot(root, settings, signals), PackStamp) is not None


def _stat_of(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


@dataclass(frozen=True)
class StoredText:
    """The text of a reused pack: the output file written last time, while it provably is that file
    (same device, inode, size and times).  Not read until asked for: a repeat pack to the same
    output finds the file already holds exactly this text and writes nothing."""

    path: str
    stat: tuple[int, int, int, int, int]

    def unchanged(self, st: os.stat_result) -> bool:
        return stat.S_ISREG(st.st_mode) and _stat_of(st) == self.stat

    def read(self) -> str:
        """The text; OSError if the file is no longer the one written."""
        with open(self.path, "rb") as fh:  # noqa: PTH123 - one open, then fstat of that very file
            if not self.unchanged(os.fstat(fh.fileno())):
                raise OSError(f"{self.path} changed")
            data = fh.read()
            if not self.unchanged(os.fstat(fh.fileno())):
                raise OSError(f"{self.path} changed")
        return data.decode("utf-8", "surrogatepass")

    def holds(self, target: Path) -> bool:
        """Whether writing the text to `target` (a resolved regular-file path) would change nothing."""
        try:
            return self.unchanged(os.stat(target))
        except OSError:
            return False


def forget(cache: Cache, slot: str) -> None:
    for ns in (STAMP_NS, NS, TEXT_NS):
        cache.delete(ns, slot)


def load(cache: Cache, root: Path, settings: Any, signals: Any, names: Sequence[str],
         seen: dict[str, os.stat_result] | None = None) -> tuple[StoredPack | None, str | StoredText, bool,
                                                                 tuple[str, str]]:
    """The stored pack and its text (a stdout pack's, or where the output file holding it is) if the
    tree is unchanged; whether a pack with these settings was stored before; and the key under
    which `remember` keeps this run's pack."""
    fingerprint, newest = stat_fingerprint(root, names, seen)
    slot = _slot(root, settings, signals)
    key = (slot, fingerprint)
    stamp = cache.get(STAMP_NS, slot, PackStamp)
    if stamp is None:
        return None, "", False, key
    if stamp.fingerprint != fingerprint or newest >= stamp.stored_ns - RACY_NS:
        return None, "", True, key
    text: str | StoredText
    if not stamp.text_path:
        found = cache.get(TEXT_NS, slot, str)
        if found is None:
            return None, "", True, key
        text = found
    else:
        text = StoredText(stamp.text_path, tuple(stamp.text_stat))  # type: ignore[arg-type]
        if not text.holds(Path(stamp.text_path)):
            forget(cache, slot)  # deleted or edited by the user: nothing of it is kept
            return None, "", True, key
    stored = _unpack_row(cache.get(NS, slot, bytes))
    if stored is None or stored.fingerprint != fingerprint:
        return None, "", True, key
    return stored, text, True, key


MAX_ROW_BYTES = 512_000_000  # a stored pack unpacks to at most this (a bad row is a miss, not a memory bomb)


def _pack_row(stored: StoredPack) -> bytes:
    """A stored pack's row: its msgpack, deflated (Django's, with every file's ranking and decision,
    is 2.1 MB raw and 0.47 MB deflated, 9 ms to write and 4 ms to read back; one per question)."""
    return zlib.compress(encode(stored), 1)


def _unpack_row(blob: bytes | None) -> StoredPack | None:
    if blob is None:
        return None
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, MAX_ROW_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        found = decode(raw, StoredPack)
    except (zlib.error, msgspec.MsgspecError, TypeError, ValueError):  # not ours in any way: a miss (see cache)
        return None
    return found if isinstance(found, StoredPack) else None


def already_written(result: Any, target: str) -> bool:
    """Whether `target` already holds exactly this reused pack's text (it is the file the text is
    in, unchanged): writing it again would change nothing."""
    from repopack.util.output import resolve_target

    if result.text_file is None or target == "-":
        return False
    path = resolve_target(target)
    return isinstance(path, Path) and result.text_file.holds(path)


def remember(result: Any, output: str) -> None:
    """Keep this pack for the next identical run: the stat of the output file just written (or,
    for stdout, a private copy of the text) and the report in the cache.  A pack that was itself
    reused only records the new stat of its output."""
    if result.reuse_key is None:
        return
    slot, fingerprint = result.reuse_key
    if output == "-":
        text_path, text_stat = "", (0, 0, 0, 0, 0)
    else:
        try:
            st = os.stat(output)
        except OSError:
            return
        size = result.text_file.stat[2] if result.text_file is not None else \
            len(result.packed.text.encode("utf-8", "surrogatepass"))
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return  # a device, a FIFO, or not what was written: nothing to read back
        text_path, text_stat = str(Path(output).absolute()), _stat_of(st)
    reused = result.timings == {"reused": 0.0}
    with contextlib.suppress(OSError), Cache() as cache:
        cache.put(STAMP_NS, slot, PackStamp(fingerprint, time.time_ns(), text_path, text_stat))
        if not reused:
            walk = result.walk
            packed = result.packed
            document = replace(packed.document, blocks=())  # what a report needs is in the decisions
            cache.put(NS, slot, _pack_row(StoredPack(
                fingerprint, replace(packed, text="", document=document),
                replace(walk, files=tuple(replace(f, text="") for f in walk.files)),
                tuple(result.ranking), tuple(result.findings), dict(result.file_tokens))))
        if not text_path:
            cache.put(TEXT_NS, slot, result.text)
        else:
            cache.delete(TEXT_NS, slot)
