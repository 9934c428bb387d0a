"""Reuse the last pack of an unchanged tree.

A pack is a pure function of the files, the settings and the signals.  When every
candidate file has the same stat as when the last pack with these settings was made, the
stored result is returned without reading, scanning or counting anything: the cost of a
repeat `repopack pack` is one `git ls-files` and one `lstat` per file.  Like git's index,
files whose modification time is too close to when the pack was stored ("racy") disable
reuse, so an edit made within the timestamp granularity is never missed.  One entry is
kept per repository and settings, so the store does not grow with edits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repopack import __version__
from repopack.packing.cache import Cache
from repopack.util.names import fs_name
from repopack.util.paths import cache_dir

RACY_NS = 2_000_000_000  # files changed this close to the stored pack are not trusted


def stat_fingerprint(root: Path, names: Sequence[str]) -> tuple[str, int]:
    """Hash of every candidate's lstat (and ignore files'), and the newest modification time."""
    h = hashlib.blake2b(digest_size=20)
    newest = 0
    for name in [*names, ".repopackignore", ".gitignore"]:
        try:
            st = os.lstat(os.path.join(root, fs_name(name)))
        except OSError:
            h.update(f"{name}\0-\n".encode())
            continue
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\0{st.st_mode}\n".encode())
        newest = max(newest, st.st_mtime_ns)
    return h.hexdigest(), newest


def _slot(root: Path, settings: Any, signals: Any) -> str:
    key = f"{__version__}\0{root}\0{settings!r}\0{signals!r}"
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def _text_file(slot: str) -> Path:
    return cache_dir() / "packs" / f"{slot}.txt"


def load(cache: Cache, root: Path, settings: Any, signals: Any,
         names: Sequence[str]) -> tuple[Any | None, bool, tuple[str, str]]:
    """The stored result if the tree is unchanged; whether a pack with these settings was stored
    before; and the key under which `remember` keeps this run's pack."""
    fingerprint, newest = stat_fingerprint(root, names)
    slot = _slot(root, settings, signals)
    key = (slot, fingerprint)
    stored = cache.get(Cache.namespace("pack", 1), slot)
    if not isinstance(stored, dict):
        return None, False, key
    if stored.get("fingerprint") != fingerprint or newest >= stored.get("stored_ns", 0) - RACY_NS:
        return None, True, key
    text_file = _text_file(slot)
    try:
        st = text_file.stat()
        if (st.st_size, st.st_mtime_ns) != stored.get("text_stat"):
            return None, True, key  # the copy changed (say, an editor wrote into a hard-linked output)
        text = text_file.read_bytes().decode("utf-8", "surrogatepass")
    except (OSError, UnicodeDecodeError):
        return None, True, key
    result = stored["result"]
    return dataclasses.replace(result, packed=dataclasses.replace(result.packed, text=text)), True, key


def remember(result: Any, output: str) -> None:
    """Keep this pack for the next identical run: the prompt as a file (a hard link to the output
    just written when possible, so nothing is copied) and the report in the cache."""
    if result.reuse_key is None:
        return
    slot, fingerprint = result.reuse_key
    target = _text_file(slot)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        if output == "-":
            tmp.write_bytes(result.packed.text.encode("utf-8", "surrogatepass"))
        else:
            try:
                os.link(output, tmp)
            except OSError:
                shutil.copyfile(output, tmp)
        os.replace(tmp, target)
        st = target.stat()
    except OSError:
        tmp.unlink(missing_ok=True)
        return
    with Cache() as cache:
        cache.put(Cache.namespace("pack", 1), slot,
                  {"fingerprint": fingerprint, "stored_ns": time.time_ns(), "text_stat": (st.st_size, st.st_mtime_ns),
                   "result": slim(result)})


def slim(result: Any) -> Any:
    """The result without texts and secret values: what the CLI reports, not what it scanned."""
    walk = result.walk
    packed = result.packed
    document = dataclasses.replace(packed.document,
                                   blocks=tuple(dataclasses.replace(b, body="") for b in packed.document.blocks))
    packed = dataclasses.replace(packed, text="", document=document)
    files = tuple(dataclasses.replace(f, text="") for f in walk.files)
    # Findings stay (file:line and type); redactions, which hold secret values, never go to disk.
    return dataclasses.replace(result, packed=packed, walk=dataclasses.replace(walk, files=files), redactions={},
                               tokenizer=None, reuse_key=None)
