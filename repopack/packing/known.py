"""Content digests of files whose stat has not changed since they were last read.

Every cached part of a file (token counts, secret verdicts, symbols, terms, snapshot rows) is
keyed by its content digest, so a warm pack of an unchanged file needs the digest, not the
bytes.  Per repository root one cache row maps each path to the stat it had when it was read
(size, mtime, ctime, inode, device), its digest and what the read found (text, text with
undecodable bytes, binary).  The walker trusts an entry only when the stat is the same *and*
the file's last change (mtime and ctime) is more than `RACY_NS` older than the walk that read
it, as git does with its index: an edit within the same timestamp tick as the read can leave
the stat unchanged, so such an entry is read again until it is old enough.  ctime cannot be set
by tools that restore mtimes (tar, `cp -a`, `touch -d`), so a replaced file is always seen.

Nothing in the row is taken on faith: a row or entry of the wrong shape is a miss, and a text
read later is checked against the digest it was trusted for (`walk.DiskText`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from repopack.packing.cache import Cache
from repopack.util.limits import RACY_NS

NS = Cache.namespace("known-files", 1)
DIGEST_CHARS = 32  # blake2b, 16 bytes, hex

FLAG_DECODE_ERRORS = 1
FLAG_BINARY = 2

# path -> (size, mtime_ns, ctime_ns, inode, device, read_ns, digest, flags)
Entry = tuple[int, int, int, int, int, int, str, int]
Row = dict[str, Entry]


def _stat_part(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


@dataclass
class KnownFiles:
    """The stored entries of one root, and the entries of this walk (saved when they differ)."""

    root: str
    before: Row = field(default_factory=dict)
    now: Row = field(default_factory=dict)
    read_ns: int = 0  # when this walk started: the read time of every entry it records

    @classmethod
    def load(cls, cache: Cache, root: os.PathLike[str] | str, read_ns: int) -> KnownFiles:
        key = str(root)
        row = cache.get(NS, key, Row) if cache.enabled else None
        return cls(key, row if isinstance(row, dict) else {}, {}, read_ns)

    def lookup(self, rel: str, st: os.stat_result) -> tuple[str, int] | None:
        """(digest, flags) when the stored entry still describes the file, else None."""
        entry = self.before.get(rel)
        if entry is None or entry[:5] != _stat_part(st):
            return None
        read_ns, digest, flags = entry[5], entry[6], entry[7]
        if max(st.st_mtime_ns, st.st_ctime_ns) + RACY_NS >= read_ns:
            return None  # changed too close to when it was read: the stat cannot vouch for it
        if flags & ~(FLAG_DECODE_ERRORS | FLAG_BINARY):
            return None
        if not flags & FLAG_BINARY and (len(digest) != DIGEST_CHARS or digest.strip("0123456789abcdef")):
            return None
        self.now[rel] = entry
        return digest, flags

    def record(self, rel: str, st: os.stat_result, digest: str, flags: int) -> None:
        self.now[rel] = (*_stat_part(st), self.read_ns, digest, flags)

    def save(self, cache: Cache) -> None:
        if self.now != self.before:
            cache.put(NS, self.root, self.now)

    def forget(self, cache: Cache) -> None:
        cache.delete(NS, self.root)
