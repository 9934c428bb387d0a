"""On-disk cache keyed by content hash: token counts, parsed symbols, skeletons, secret scans.

One sqlite file in REPOPACK_CACHE_DIR (WAL mode, so concurrent runs read while one writes).
Values are pickled records of this package's own dataclasses; the schema version and the
repopack version are part of every key's namespace, so an upgrade never reads stale shapes.
The cache is an optimisation only: any sqlite or unpickling failure rebuilds it or is ignored.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from repopack import __version__
from repopack.util.paths import cache_dir

SCHEMA = 1
_FILE = f"cache-v{SCHEMA}.sqlite"


class Cache:
    """Namespaced key/value store; get_many/put_many keep round trips few."""

    def __init__(self, directory: Path | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, bytes]] = []
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        if enabled:
            self._path = (directory or cache_dir()) / _FILE
            self._conn = self._open()
            self._broken = self._conn is None

    def _open(self) -> sqlite3.Connection | None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect()
        except sqlite3.DatabaseError:
            # Corrupt or not a database: start again rather than fail the pack.
            for suffix in ("", "-wal", "-shm"):
                Path(str(self._path) + suffix).unlink(missing_ok=True)
            try:
                return self._connect()
            except sqlite3.Error:
                return None
        except (OSError, sqlite3.Error):
            return None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=10, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                     "PRIMARY KEY (ns, key)) WITHOUT ROWID")
        conn.execute("SELECT count(*) FROM kv WHERE ns = ''").fetchone()  # raises on a corrupt file
        return conn

    @staticmethod
    def namespace(kind: str, *parts: object) -> str:
        return ":".join([kind, __version__, *map(str, parts)])

    def _live(self) -> sqlite3.Connection | None:
        if self._conn is None and self.enabled and not self._broken:
            self._conn = self._open()
            self._broken = self._conn is None
        return self._conn

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Any]:
        conn = self._live()
        if conn is None:
            return {}
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        try:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = conn.execute(f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({marks})",
                                              [ns, *chunk]).fetchall()
                for key, blob in rows:
                    try:
                        found[key] = pickle.loads(blob)
                    except Exception:  # noqa: BLE001 - a bad row is a miss
                        continue
        except sqlite3.Error:
            return found
        return found

    def get(self, ns: str, key: str) -> Any | None:
        return self.get_many(ns, [key]).get(key)

    def put_many(self, ns: str, items: Mapping[str, Any]) -> None:
        if not self.enabled or not items:
            return
        rows = [(ns, k, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in items.items()]
        with self._lock:
            self._pending.extend(rows)

    def put(self, ns: str, key: str, value: Any) -> None:
        self.put_many(ns, {key: value})

    def flush(self) -> None:
        """Write pending rows in one transaction; losing them only costs time next run."""
        conn = self._live()
        if conn is None:
            self._pending = []
            return
        with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        self.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
