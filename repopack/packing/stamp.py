"""A digest of the code whose output the cache stores, so a changed parser or index never
serves records an older one derived (a bumped constant is easy to forget; a digest is not)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

# Modules and data whose output lands in cached symbols, skeletons, outlines and snapshots.
SHAPING = ("parse.py", "lexical.py", "graph.py", "skeleton.py", "focus.py", "snapshot.py", "languages.py")


@cache
def code_stamp() -> str:
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
