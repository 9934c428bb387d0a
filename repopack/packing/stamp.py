"""Digests of the code whose output the cache stores, so a changed parser or index never
serves records an older one derived (a bumped constant is easy to forget; a digest is not), and
a changed pipeline never serves a pack an older one made (`pack_stamp`, for packing/reuse.py)."""

from __future__ import annotations

import hashlib
from functools import cache

# Modules and data whose output lands in cached symbols, skeletons, outlines and snapshots.
SHAPING = ("parse.py", "lexical.py", "graph.py", "skeleton.py", "focus.py", "snapshot.py", "languages.py")


@cache
def code_stamp() -> str:
    from importlib import resources

    h = hashlib.blake2b(digest_size=8)
    package = resources.files("repopack.packing")
    for name in SHAPING:
        item = package / name
        if item.is_file():
            h.update(name.encode() + b"\0" + item.read_bytes())
    queries = resources.files("repopack") / "queries"
    for item in sorted(queries.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".scm"):
            h.update(item.name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()


@cache
def pack_stamp() -> str:
    """Every module and data file a pack's text depends on (the packing stages, configuration,
    queries, rules): an upgrade that keeps the version number still never reuses an old pack.
    Keyed by each file's name, size and modification time (a warm pack cannot afford to read
    them all), which any install or edit changes."""
    import os

    h = hashlib.blake2b(digest_size=8)
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repopack package
    for folder in ("packing", "queries", "data", "util", ""):
        base = os.path.join(top, folder)
        with os.scandir(base) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
                    st = entry.stat()
                    h.update(f"{folder}/{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()
