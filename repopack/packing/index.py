"""Everything question-independent about a repository, built once and reused.

A `RepoIndex` holds each file's token count and, on demand, its symbols and terms, the
file graph with its base PageRank, and the BM25 indexes.  Per-file records come from the
content-hash cache; the graph and BM25 indexes are cached per repository snapshot (the
hash of every path and content hash), so a warm run loads them instead of rebuilding and
an edited file is re-parsed alone.  The session and the TUI keep one index in memory and
only re-personalise the ranking for each new question.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from repopack.packing.cache import Cache
from repopack.packing.stamp import code_stamp
from repopack.packing.symbols import FileSymbols
from repopack.packing.tokens import Tokenizer
from repopack.packing.walk import SourceFile
from repopack.util.progress import Progress

if TYPE_CHECKING:
    from repopack.packing.focus import Outline
    from repopack.packing.graph import RepoGraph
    from repopack.packing.lexical import BM25Index
    from repopack.packing.snapshot import Snapshot

# Parsing, graphs and search indexes load on first use: a plain pack needs none of them.


def parse_file(path: str, text: str, language: str | None = None) -> FileSymbols:
    from repopack.packing.parse import parse_file as parse

    return parse(path, text, language)


def number_lines(text: str) -> str:
    from repopack.packing.skeleton import number_lines as numbered

    return numbered(text)

# Cached per-file records are keyed by the code that made them (see packing/stamp.py).
PARSE_VERSION = f"1-{code_stamp()}"
PARSE_THREADS = min(4, (os.cpu_count() or 1) * 2)
PROCESS_PARSE_MIN = 1500  # uncached files before parsing moves to helper processes


def _parse_processes() -> Any:
    """A spawn pool (safe whatever threads exist) with one worker per core; None where not allowed."""
    workers = min(4, os.cpu_count() or 1)
    if workers < 2:
        return None
    try:
        from repopack.util.procs import helper_pool

        return helper_pool(workers)
    except (OSError, RuntimeError, ImportError):
        return None


def _symbol_key(f: SourceFile) -> str:
    return f.digest + ":" + (f.language or "")


@dataclass
class RepoIndex:
    files: tuple[SourceFile, ...]
    tokenizer: Tokenizer
    tokens: list[int]
    cache: Cache = field(repr=False)
    line_numbers: bool = False
    progress: Progress | None = field(default=None, repr=False)
    scope: str | None = None  # where the snapshot is kept (the repository root); None: only the latest
    snapshot_stats: tuple[int, int] = (0, 0)  # files reused from the base snapshot, files derived afresh

    @cached_property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    @cached_property
    def position(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for f in self.files:
            h.update(f"{f.path}\0{f.digest}\0{f.language}\n".encode())
        return h.hexdigest()

    # --- per-file records, loaded or computed on demand ----------------------
    def symbols_for(self, indices: Sequence[int]) -> dict[int, FileSymbols]:
        ns = Cache.namespace("symbols", PARSE_VERSION)
        keys = [_symbol_key(self.files[i]) for i in indices]

        found = self.cache.get_many(ns, keys, FileSymbols)
        n_missing = sum(1 for k in keys if k not in found)
        processes = _parse_processes() if n_missing >= PROCESS_PARSE_MIN else None

        def parse(missing: list[int]) -> list[FileSymbols]:
            targets = [indices[m] for m in missing]
            if len(targets) < 64:
                return [self._parse(i) for i in targets]
            if processes is not None:
                # Queries hold the GIL, so a big cold parse runs in helper processes.
                items = [(self.files[i].path, self.files[i].text, self.files[i].language) for i in targets]
                chunks = [items[k:k + 128] for k in range(0, len(items), 128)]
                from repopack.packing.parse import parse_many

                try:
                    return [s for chunk in processes.map(parse_many, chunks) for s in chunk]
                except Exception:  # noqa: BLE001 - a broken helper only costs time
                    pass
            # tree-sitter releases the GIL while parsing; threads keep both cores partly busy.
            with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:
                return list(pool.map(self._parse, targets, chunksize=16))

        try:
            values = _cached_map(self.cache, ns, keys, FileSymbols, parse, "parse", self.progress)
        finally:
            if processes is not None:
                processes.shutdown(wait=False, cancel_futures=True)
        out = {}
        for i, s in zip(indices, values, strict=True):
            path = self.files[i].path
            # The same content may live at several paths: the cached record has the first one's path.
            out[i] = s if s.path == path else dataclasses.replace(s, path=path)
        return out

    def _parse(self, i: int) -> FileSymbols:
        f = self.files[i]
        return parse_file(f.path, f.text, f.language)

    @cached_property
    def symbols(self) -> list[FileSymbols]:
        found = self.symbols_for(range(len(self.files)))
        return [found[i] for i in range(len(self.files))]

    def terms_for(self, indices: Sequence[int]) -> list[Mapping[str, int]]:
        from repopack.packing.lexical import terms_of

        ns = Cache.namespace("terms", 1, code_stamp())
        return _cached_map(self.cache, ns, [self.files[i].digest for i in indices], dict[str, int],
                           lambda missing: [terms_of(self.files[indices[m]].text) for m in missing], "terms",
                           self.progress)

    # --- whole-repo structures, derived from the previous snapshot --------------
    @cached_property
    def snapshot(self) -> Snapshot:
        """Term counts, definitions, references and imports of every file, as sparse matrices: the
        stored snapshot when the tree is the same, else derived from the last one (this root's, or
        the latest of any root) with per-file parts read or parsed only for new or changed files."""
        from repopack.packing import snapshot as snapshots

        keys = [snapshots.file_key(f.path, f.digest, f.language) for f in self.files]
        base = snapshots.load_base(self.cache, self.scope, keys, self.fingerprint) if self.cache.enabled else None
        if base is not None and base.fingerprint == self.fingerprint and base.keys == keys:
            self.snapshot_stats = (len(keys), 0)
            return base

        def parts(indices: list[int]) -> tuple[list[Mapping[str, int]], list[FileSymbols]]:
            found = self.symbols_for(indices)
            return self.terms_for(indices), [found[i] for i in indices]

        snap = snapshots.derive(base, keys, self.fingerprint, parts)
        snap.graph()  # computes the base PageRank to store
        self.snapshot_stats = (snap.reused, snap.fresh)
        if self.cache.enabled and snapshots.worth_saving(base, snap, self.scope):
            snapshots.save(self.cache, self.scope, snap)
        return snap

    @cached_property
    def graph(self) -> RepoGraph:
        return self.snapshot.graph()

    @cached_property
    def _bm25(self) -> tuple[BM25Index, BM25Index]:
        return self.snapshot.bm25()

    @property
    def content_bm25(self) -> BM25Index:
        return self._bm25[0]

    @property
    def name_bm25(self) -> BM25Index:
        """Path and defined names: the field that says what a file *is*."""
        return self._bm25[1]

    # --- texts for the fitter ---------------------------------------------------
    def body(self, i: int) -> str:
        text = self.files[i].text
        return number_lines(text) + "\n" if self.line_numbers and text else text

    def skeletons(self, indices: Sequence[int]) -> dict[int, tuple[str, int]]:
        """Skeleton text and its token count for these files (cached by content)."""
        ns = Cache.namespace("skeleton", PARSE_VERSION, self.tokenizer.name)
        keys = [_symbol_key(self.files[i]) for i in indices]
        symbols: dict[int, FileSymbols] = {}

        from repopack.packing.skeleton import skeleton_text

        def make(missing: list[int]) -> list[tuple[str, int]]:
            targets = [indices[m] for m in missing]
            symbols.update(self.symbols_for(targets))
            texts = [skeleton_text(self.files[i].text, symbols[i]) for i in targets]
            return list(zip(texts, self.tokenizer.count_many(texts), strict=True))

        values = _cached_map(self.cache, ns, keys, tuple[str, int], make, "skeleton", None)
        return dict(zip(indices, values, strict=True))

    def outlines(self, indices: Sequence[int]) -> dict[int, Outline]:
        """Each file's split into skeleton and expandable units, for focused packs (cached by content)."""
        ns = Cache.namespace("outline", PARSE_VERSION, self.tokenizer.name)
        keys = [_symbol_key(self.files[i]) for i in indices]

        from repopack.packing.focus import Outline as OutlineSchema
        from repopack.packing.focus import build_outlines

        def make(missing: list[int]) -> list[Outline]:
            targets = [indices[m] for m in missing]
            symbols = self.symbols_for(targets)
            return build_outlines([(self.files[i].text, symbols[i]) for i in targets], self.tokenizer.count_many)

        values = _cached_map(self.cache, ns, keys, OutlineSchema, make, "", None)
        return dict(zip(indices, values, strict=True))

    def has_definitions(self, indices: Sequence[int]) -> dict[int, bool]:
        if "snapshot" in self.__dict__:  # already loaded: one row count per file, no per-file reads
            indptr = self.snapshot.defs.indptr
            return {i: bool(indptr[i + 1] > indptr[i]) for i in indices}
        return {i: bool(s.defs) for i, s in self.symbols_for(indices).items()}


class MemoTokenizer:
    """A tokenizer that remembers counts by content hash, so warm runs never load the encoding.

    Used for the wrappers, headers and whole prompts the fitter counts: on an unchanged
    repository they are the same texts as last time.
    """

    def __init__(self, tokenizer: Tokenizer, cache: Cache) -> None:
        self.tokenizer = tokenizer
        self.cache = cache
        self.name = tokenizer.name
        self.note = tokenizer.note
        self.requested = tokenizer.requested
        self._ns = Cache.namespace("count", tokenizer.name)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def count_many(self, texts: Sequence[str]) -> list[int]:
        keys = [self._key(t) for t in texts]
        return _cached_map(self.cache, self._ns, keys, int,
                           lambda missing: self.tokenizer.count_many([texts[i] for i in missing]), "", None)

    def count(self, text: str) -> int:
        return self.count_many([text])[0]


def _cached_map(cache: Cache, ns: str, keys: list[str], schema: Any, compute: Callable[[list[int]], list],
                label: str, progress: Progress | None) -> list:
    found = cache.get_many(ns, keys, schema)
    values: list = [found.get(k) for k in keys]
    missing = [i for i, v in enumerate(values) if v is None]
    if missing:
        computed: list = []
        # In slices, so a progress bar moves on big cold runs (slices are large enough that the
        # threaded parse and batch counting keep their speed).
        step = 1024 if progress and label else len(missing)
        for start in range(0, len(missing), step):
            computed.extend(compute(missing[start:start + step]))
            if progress and label:
                progress(label, len(keys) - len(missing) + len(computed), len(keys))
        fresh = {}
        for i, value in zip(missing, computed, strict=True):
            values[i] = value
            fresh[keys[i]] = value
        cache.put_many(ns, fresh)
        cache.flush()
    if progress and label:
        progress(label, len(keys), len(keys))
    return values


def count_tokens(files: Sequence[SourceFile], tokenizer: Tokenizer, cache: Cache, *, line_numbers: bool = False,
                 progress: Progress | None = None) -> list[int]:
    """Token counts per file, from the cache by content hash or counted (and cached) now."""
    tok_ns = Cache.namespace("tokens", tokenizer.name, int(line_numbers))

    def count(missing: list[int]) -> list[int]:
        texts = [files[i].text for i in missing]
        if line_numbers:
            texts = [number_lines(t) + "\n" if t else t for t in texts]
        return tokenizer.count_many(texts)

    return _cached_map(cache, tok_ns, [f.digest for f in files], int, count, "count", progress)


def build_index(files: Sequence[SourceFile], tokenizer: Tokenizer, cache: Cache, *, line_numbers: bool = False,
                progress: Progress | None = None, scope: str | None = None) -> RepoIndex:
    """Token counts now; symbols, terms, graph and BM25 when first asked for.  `scope` names where
    the snapshot of this tree is kept (its root), so the next snapshot of it starts from this one."""
    files = tuple(files)
    tokens = count_tokens(files, tokenizer, cache, line_numbers=line_numbers, progress=progress)
    return RepoIndex(files, tokenizer, tokens, cache, line_numbers, progress, scope)
