"""On-disk cache keyed by content hash: token counts, parsed symbols, skeletons, secret scans.

One sqlite file in REPOPACK_CACHE_DIR.  Values are data, never code: each is encoded as
msgpack and decoded against the schema its reader names (a dataclass, a tuple, an int...),
so a row that does not fit the schema — a pickle, random bytes, another version's shape —
is a miss and is recomputed, never run and never a crash.  The schema version and the
repopack version are part of every namespace, so an upgrade never reads stale shapes.

Safety and bounds:
* the directory is 0700 and the database 0600 (it holds redacted source text);
* a rollback journal rather than WAL: no shared-memory file is mapped, so another process
  truncating it or a full disk can never crash a reader with SIGBUS;
* a size cap (`Settings.cache_max`, `REPOPACK_CACHE_MAX`, default 1 GB): every row has a
  last-used time, and a write that would pass the cap first evicts the least recently used
  rows; freed pages go back to the file system (incremental auto-vacuum).

The cache is an optimisation only: any sqlite or decoding failure is a miss or is ignored.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import msgspec

from repopack import __version__
from repopack.util.env import env
from repopack.util.paths import cache_dir

SCHEMA = 2
_FILE = f"cache-v{SCHEMA}.sqlite"
_LEGACY = ("cache-v1.sqlite", "cache-v1.sqlite-wal", "cache-v1.sqlite-shm")  # pickled, unbounded: removed
DEFAULT_MAX_BYTES = 1_000_000_000
TOUCH_SECONDS = 3600  # a row read again within this time keeps its last-used time (saves writes) ...
BIG_ROW_BYTES = 1_000_000  # ... and a row this big for a day: updating `used` rewrites the whole row
BIG_TOUCH_SECONDS = 86_400  # (a Django snapshot is 17 MB: 60 ms to touch, on the first question after a break)
_CHUNK = 500  # keys per SELECT (sqlite's variable limit is 32766; smaller chunks keep latency even)
BUSY_SECONDS = 15.0  # how long to wait for another process's write before running without the cache
_ROW_OVERHEAD = 64  # bytes of page and index space per row, for eviction accounting


def parse_size(text: str | int) -> int:
    """'1G', '500M', '64k', '1000000' -> bytes (powers of 1000, like `du --si`)."""
    if isinstance(text, int):
        return text
    value = text.strip().lower().removesuffix("b")
    scale = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}.get(value[-1:], 1)
    number = float(value[:-1] if scale != 1 else value)
    if number < 0:
        raise ValueError(text)
    return int(number * scale)


def max_bytes_from_env() -> int:
    raw = env("cache_max") or ""
    try:
        return parse_size(raw) if raw.strip() else DEFAULT_MAX_BYTES
    except (ValueError, IndexError):
        return DEFAULT_MAX_BYTES


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, PurePath):
        return str(obj)
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise NotImplementedError(f"cannot store {type(obj).__name__}")


def _dec_hook(kind: type, obj: Any) -> Any:
    if kind is Path and isinstance(obj, str):
        return Path(obj)
    raise NotImplementedError


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_DECODERS: dict[Any, msgspec.msgpack.Decoder[Any]] = {}


def encode(value: Any) -> bytes:
    return _ENCODER.encode(value)


def decode(blob: bytes, schema: Any) -> Any:
    """Decode against `schema`; raises msgspec.MsgspecError (or TypeError for bad schema hints)."""
    decoder = _DECODERS.get(schema)
    if decoder is None:
        decoder = _DECODERS[schema] = msgspec.msgpack.Decoder(schema, dec_hook=_dec_hook)
    return decoder.decode(blob)


def secure_dir(directory: Path) -> None:
    """Create the directory 0700; tighten it when it is ours (never a shared sticky dir like /tmp)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = directory.stat()
    if st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX and stat.S_IMODE(st.st_mode) & 0o077:
        directory.chmod(0o700)


def private_file(path: Path) -> None:
    """Create the file 0600 (sqlite then gives its journal the same mode) or tighten it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _remove_legacy(directory: Path) -> None:
    """Earlier versions' pickled database and prompt copies (which could hold unredacted packs)."""
    for name in _LEGACY:
        (directory / name).unlink(missing_ok=True)
    packs = directory / "packs"
    if packs.is_dir() and not packs.is_symlink():
        for p in packs.iterdir():
            if p.suffix == ".txt" or p.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()
        with contextlib.suppress(OSError):
            packs.rmdir()


class Cache:
    """Namespaced key/value store; get_many/put_many keep round trips few."""

    def __init__(self, directory: Path | None = None, enabled: bool = True, max_bytes: int | None = None) -> None:
        self.enabled = enabled
        self.max_bytes = max_bytes if max_bytes is not None else max_bytes_from_env()
        self.directory = directory or cache_dir()
        self._path = self.directory / _FILE
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], bytes] = {}
        self._touched: set[tuple[str, str]] = set()
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        if enabled:
            self._conn = self._open()
            self._broken = self._conn is None

    def _open(self) -> sqlite3.Connection | None:
        try:
            secure_dir(self.directory)
            _remove_legacy(self.directory)
            private_file(self._path)
            return self._connect()
        except sqlite3.OperationalError:
            return None  # locked or unreadable: run without the cache, never delete a busy file
        except sqlite3.DatabaseError:
            # Corrupt or not a database: start again rather than fail the pack.
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(self._path) + suffix).unlink(missing_ok=True)
            try:
                private_file(self._path)
                return self._connect()
            except (OSError, sqlite3.Error):
                return None
        except OSError:
            return None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=BUSY_SECONDS, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
            conn.execute("PRAGMA journal_mode = TRUNCATE")
            conn.execute("PRAGMA synchronous = OFF")  # a cache: a torn write after power loss is rebuilt
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect before the first table
            conn.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                         "size INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (ns, key))")  # used: ms since 1970
            conn.execute("CREATE INDEX IF NOT EXISTS kv_used ON kv (used)")
            conn.execute("SELECT count(*) FROM kv WHERE ns = ''").fetchone()  # raises on a corrupt file
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def namespace(kind: str, *parts: object) -> str:
        return ":".join([kind, __version__, *map(str, parts)])

    def _live(self) -> sqlite3.Connection | None:
        if self._conn is None and self.enabled and not self._broken:
            self._conn = self._open()
            self._broken = self._conn is None
        return self._conn

    def get_many(self, ns: str, keys: Iterable[str], schema: Any) -> dict[str, Any]:
        """The stored values that decode as `schema`; anything else is a miss."""
        conn = self._live()
        if conn is None:
            return {}
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        now = time.time_ns() // 1_000_000
        stale, stale_big = now - TOUCH_SECONDS * 1000, now - BIG_TOUCH_SECONDS * 1000
        with self._lock:
            for k in wanted if self._pending else ():
                blob = self._pending.get((ns, k))
                if blob is not None:
                    with contextlib.suppress(msgspec.MsgspecError, TypeError, ValueError):
                        found[k] = decode(blob, schema)
            wanted = [k for k in wanted if k not in found]
        try:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i:i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = conn.execute(f"SELECT key, value, used FROM kv WHERE ns = ? AND key IN ({marks})",
                                        [ns, *chunk]).fetchall()
                for key, blob, used in rows:
                    try:
                        found[key] = decode(blob, schema)
                    except (msgspec.MsgspecError, TypeError, ValueError):
                        continue  # a bad, foreign or wrong-shaped row is a miss
                    if not isinstance(used, int) or used < (stale_big if len(blob) > BIG_ROW_BYTES else stale):
                        self._touched.add((ns, key))
        except sqlite3.Error:
            return found
        return found

    def get(self, ns: str, key: str, schema: Any) -> Any | None:
        return self.get_many(ns, [key], schema).get(key)

    def put_many(self, ns: str, items: Mapping[str, Any]) -> None:
        if not self.enabled or not items:
            return
        rows = {(ns, k): encode(v) for k, v in items.items()}
        with self._lock:
            self._pending.update(rows)

    def put(self, ns: str, key: str, value: Any) -> None:
        self.put_many(ns, {key: value})

    def delete(self, ns: str, key: str) -> None:
        conn = self._live()
        if conn is None:
            return
        with self._lock:
            self._pending.pop((ns, key), None)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (ns, key))

    def flush(self) -> None:
        """Write pending rows in one transaction, evicting the least recently used rows first when
        they would pass the cap; losing them only costs time next run."""
        conn = self._live()
        if conn is None:
            self._pending = {}
            return
        with self._lock:
            pending, self._pending = self._pending, {}
            touched, self._touched = self._touched, set()
            now = time.time_ns() // 1_000_000
            rows = [(ns, k, blob, len(blob) + len(k) + _ROW_OVERHEAD, now) for (ns, k), blob in pending.items()]
            if sum(r[3] for r in rows) > self.max_bytes // 2:
                rows = []  # more than half the cap at once would only evict itself next time
            if not rows and not touched:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                if touched:
                    conn.executemany("UPDATE kv SET used = ? WHERE ns = ? AND key = ?",
                                     [(now, ns, k) for ns, k in touched])
                conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value, size, used) VALUES (?, ?, ?, ?, ?)",
                                 rows)
                evicted = self._evict(conn, now) if rows else 0
                conn.execute("COMMIT")
                if evicted or conn.execute("PRAGMA page_count").fetchone()[0] * 4096 > 0.9 * self.max_bytes:
                    # Free pages (from evictions, or from rows that moved) go back to the file system.
                    conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page only
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")

    @staticmethod
    def _live_bytes(conn: sqlite3.Connection) -> int:
        page_size, pages, free = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                                  for p in ("page_size", "page_count", "freelist_count"))
        return int((pages - free) * page_size)

    def _evict(self, conn: sqlite3.Connection, now: int) -> int:
        """Delete least recently used rows (not those of this flush) until the file fits the cap again,
        with some slack so that the next runs do not evict at once."""
        deleted = 0
        for _ in range(4):  # pages are freed only as they empty: measure again after each round
            live = self._live_bytes(conn)
            if live <= self.max_bytes:
                break
            accounted = conn.execute("SELECT total(size) FROM kv").fetchone()[0] or 1
            target = (live - 0.85 * self.max_bytes) * accounted / live  # in the rows' own accounting
            freed = 0.0
            take: list[int] = []
            for rowid, size in conn.execute("SELECT rowid, size FROM kv WHERE used < ? ORDER BY used", (now,)):
                take.append(rowid)
                freed += size
                if freed >= target:
                    break
            if not take:
                break
            conn.executemany("DELETE FROM kv WHERE rowid = ?", [(r,) for r in take])
            deleted += len(take)
        return deleted

    def close(self) -> None:
        self.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    size: int  # bytes on disk: database, journal and kept prompts
    max_bytes: int
    entries: int
    by_kind: tuple[tuple[str, int, int], ...]  # (kind, entries, bytes), largest first


def _files(directory: Path) -> list[Path]:
    """Everything the cache owns in its directory."""
    names = [_FILE, *(f"{_FILE}{s}" for s in ("-journal", "-wal", "-shm")), *_LEGACY]
    out = [directory / n for n in names]
    out += sorted(directory.glob("encoding-unavailable-*"))
    packs = directory / "packs"
    if packs.is_dir():
        out += sorted(p for p in packs.iterdir() if p.is_file() and not p.is_symlink())
    return [p for p in out if p.is_file() and not p.is_symlink()]


def cache_info(directory: Path | None = None, max_bytes: int | None = None) -> CacheInfo:
    directory = directory or cache_dir()
    size = sum(p.stat().st_size for p in _files(directory)) if directory.is_dir() else 0
    by_kind: list[tuple[str, int, int]] = []
    db = directory / _FILE
    if db.is_file():
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15)
            try:
                rows = conn.execute("SELECT substr(ns, 1, instr(ns || ':', ':') - 1) AS kind, count(*), sum(size) "
                                    "FROM kv GROUP BY kind ORDER BY sum(size) DESC").fetchall()
            finally:
                conn.close()
            by_kind = [(str(k), int(n), int(b or 0)) for k, n, b in rows]
        except sqlite3.Error:
            by_kind = []
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    return CacheInfo(directory, size, limit, sum(n for _k, n, _b in by_kind), tuple(by_kind))


def clear_cache(directory: Path | None = None) -> int:
    """Remove every file the cache owns (not the directory, which may be the user's); bytes freed."""
    directory = directory or cache_dir()
    if not directory.is_dir():
        return 0
    freed = 0
    for path in _files(directory):
        with contextlib.suppress(OSError):
            freed += path.stat().st_size
            path.unlink()
    with contextlib.suppress(OSError):
        (directory / "packs").rmdir()
    return freed
