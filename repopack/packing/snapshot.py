"""A repository snapshot's question-independent structures, derived from the previous snapshot.

What ranking needs of a whole tree — the term-frequency matrices behind both BM25 fields,
the definitions and references behind the file graph, the import targets, the base
PageRank — is kept as a few sparse matrices over vocabularies of strings.  A new snapshot
(an edit, a pull, another checkout of the same project) starts from the last one: rows of
files whose path and content are unchanged are copied as arrays, and only new or changed
files need their per-file parts (terms, symbols) from the content cache or the parser.
Deriving is therefore proportional to what changed; BM25 weights, name weights and the
graph's edge matrix are then a handful of vectorised sparse operations.

Stored form: `SnapshotRecord`, plain strings and little-endian arrays (no pickle), one row
per repository root (so edits do not grow the cache) plus a pointer to the latest one (a
fresh checkout of the same project starts from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from repopack.packing.cache import Cache
from repopack.packing.stamp import code_stamp

if TYPE_CHECKING:
    import scipy.sparse as sp

    from repopack.packing.graph import RepoGraph
    from repopack.packing.lexical import BM25Index
    from repopack.packing.parse import FileSymbols

VERSION = 1
_DTYPES = frozenset({"<i4", "<i8", "<f8", "<f4", "|u1"})
MIN_SHARED = 0.5  # a base snapshot is used when at least this share of the files is unchanged in it
RESTORE_MIN_FILES = 64  # a derived snapshot replaces its stored base once more files than this changed ...
RESTORE_SHARE = 0.02  # ... and more than this share of the tree


@dataclass(frozen=True)
class Array:
    dtype: str
    shape: tuple[int, ...]
    data: bytes

    @classmethod
    def of(cls, a: np.ndarray) -> Array:
        a = np.ascontiguousarray(a)
        dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        a = a.astype(dtype, copy=False)
        return cls(dtype.str, tuple(a.shape), a.tobytes())

    def value(self) -> np.ndarray:
        if self.dtype not in _DTYPES:
            raise ValueError(f"unexpected dtype {self.dtype}")
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape)


@dataclass(frozen=True)
class Sparse:
    """A CSR matrix as three arrays."""

    shape: tuple[int, int]
    indptr: Array
    indices: Array
    data: Array

    @classmethod
    def of(cls, m: sp.csr_matrix) -> Sparse:
        return cls((int(m.shape[0]), int(m.shape[1])), Array.of(m.indptr.astype(np.int64)),
                   Array.of(m.indices.astype(np.int32)), Array.of(m.data))

    def value(self) -> sp.csr_matrix:
        import scipy.sparse as sp

        indptr, indices, data = self.indptr.value(), self.indices.value(), self.data.value()
        rows, cols = self.shape
        if (indptr.shape != (rows + 1,) or indices.shape != data.shape or int(indptr[0]) != 0
                or int(indptr[-1]) != len(indices) or (len(indices) and (indices.min() < 0 or indices.max() >= cols))
                or bool(np.any(np.diff(indptr) < 0))):
            raise ValueError("inconsistent sparse matrix")
        return sp.csr_matrix((data, indices, indptr), shape=self.shape)


@dataclass(frozen=True)
class SnapshotRecord:
    version: int
    fingerprint: str
    keys: tuple[str, ...]  # per file "path\0digest\0language", in index order
    terms: tuple[str, ...]  # vocabulary of both BM25 fields
    content: Sparse  # files × terms, term counts of the text
    names: Sparse  # files × terms, term counts of the path and defined names
    symbols: tuple[str, ...]  # vocabulary of symbol names
    multipliers: Array  # per symbol name: how specific its shape is (name_multiplier)
    defs: Sparse  # files × symbols, 1 where the file defines the name
    refs: Sparse  # files × symbols, reference counts
    imports: tuple[str, ...]  # vocabulary of raw import targets
    imported: Sparse  # files × imports, 1 where the file imports the target
    import_edges: Sparse  # files × files, where the imports resolve (see graph.import_matrix)
    base_rank: Array


def file_key(path: str, digest: str, language: str | None) -> str:
    return f"{path}\0{digest}\0{language or ''}"


class _Vocab:
    """Strings -> column ids, extended in place."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    def id(self, word: str) -> int:
        i = self.ids.get(word)
        if i is None:
            i = self.ids[word] = len(self.words)
            self.words.append(word)
        return i


def _rows(docs: Sequence[Mapping[str, int] | Sequence[tuple[str, int]]], vocab: _Vocab,
          dtype: type = np.int32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indptr = [0]
    indices: list[int] = []
    data: list[int] = []
    for doc in docs:
        items = doc.items() if isinstance(doc, Mapping) else doc
        for word, count in items:
            indices.append(vocab.id(word))
            data.append(count)
        indptr.append(len(indices))
    return np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int32), np.asarray(data, dtype=dtype)


def _assemble(base: sp.csr_matrix | None, base_rows: np.ndarray, fresh: tuple[np.ndarray, np.ndarray, np.ndarray],
              order: np.ndarray, width: int) -> sp.csr_matrix:
    """Rows copied from `base` followed by the fresh rows, permuted to the new file order."""
    import scipy.sparse as sp

    indptr, indices, data = fresh
    fresh_m = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, width))
    if base is None or not len(base_rows):
        stacked = fresh_m
    else:
        kept = base[base_rows]
        kept = sp.csr_matrix((kept.data, kept.indices, kept.indptr), shape=(kept.shape[0], width))
        stacked = sp.vstack([kept, fresh_m.astype(kept.dtype)], format="csr")
    out = stacked[order]
    out.sort_indices()
    return out


def name_multiplier(name: str) -> float:
    """How specific a name is by its shape (see graph._name_weight)."""
    weight = 1.0
    if len(name) < 3:
        weight *= 0.1
    elif name.startswith("_") and not name.startswith("__"):
        weight *= 0.5
    if name.startswith("__") and name.endswith("__"):
        weight *= 0.05
    if len(name) >= 8 and ("_" in name.strip("_") or name[1:] != name[1:].lower()):
        weight *= 2.0  # long compound identifiers are specific
    return weight


class Definers(Mapping[str, tuple[int, ...]]):
    """Symbol name -> the files defining it, read from the definitions matrix on demand."""

    def __init__(self, names: Sequence[str], defs: sp.csr_matrix, ids: dict[str, int] | None = None) -> None:
        self._names = names
        self._defs = defs
        if ids is not None:
            self.__dict__["_all_ids"] = ids  # every name -> column (names with no definer included)

    @cached_property
    def _csc(self) -> sp.csc_matrix:
        m = self._defs.tocsc()
        m.sort_indices()
        return m

    @cached_property
    def _all_ids(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self._names)}

    @cached_property
    def _defined(self) -> list[str]:
        counts = np.diff(self._csc.indptr)
        return [w for i, w in enumerate(self._names) if counts[i]]

    def __getitem__(self, name: str) -> tuple[int, ...]:
        j = self._all_ids[name]
        m = self._csc
        if m.indptr[j + 1] == m.indptr[j]:
            raise KeyError(name)  # only referenced, defined nowhere
        return tuple(int(i) for i in m.indices[m.indptr[j]:m.indptr[j + 1]])

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        j = self._all_ids.get(name)
        return j is not None and bool(self._csc.indptr[j + 1] > self._csc.indptr[j])

    def __iter__(self) -> Iterator[str]:
        return iter(self._defined)

    def __len__(self) -> int:
        return len(self._defined)


@dataclass
class Snapshot:
    """The in-memory form of a `SnapshotRecord`."""

    fingerprint: str
    keys: list[str]
    terms: list[str]
    content: sp.csr_matrix
    names: sp.csr_matrix
    symbols: list[str]
    multipliers: np.ndarray
    defs: sp.csr_matrix
    refs: sp.csr_matrix
    imports: list[str]
    imported: sp.csr_matrix
    import_edges: sp.csr_matrix
    base_rank: np.ndarray | None = None  # None: computed by graph(), from `start` when there is one
    start: np.ndarray | None = None  # the base snapshot's PageRank mapped to these files (a warm start)
    scope: str = ""  # the key it is stored under (set when loaded)
    reused: int = 0  # files whose rows came from the base snapshot
    fresh: int = 0
    _graph: RepoGraph | None = field(default=None, repr=False)
    term_ids: dict[str, int] | None = field(default=None, repr=False)  # built while deriving: not built twice
    symbol_ids: dict[str, int] | None = field(default=None, repr=False)

    @cached_property
    def paths(self) -> tuple[str, ...]:
        return tuple(k.split("\0", 1)[0] for k in self.keys)

    @classmethod
    def load(cls, record: SnapshotRecord) -> Snapshot:
        n = len(record.keys)
        snap = cls(record.fingerprint, list(record.keys), list(record.terms), record.content.value(),
                   record.names.value(), list(record.symbols), record.multipliers.value(), record.defs.value(),
                   record.refs.value(),
                   list(record.imports), record.imported.value(), record.import_edges.value(),
                   record.base_rank.value())
        for m, width in ((snap.content, len(snap.terms)), (snap.names, len(snap.terms)),
                         (snap.defs, len(snap.symbols)), (snap.refs, len(snap.symbols)),
                         (snap.imported, len(snap.imports)), (snap.import_edges, n)):
            if m.shape != (n, width):
                raise ValueError("snapshot shapes disagree")
        if snap.multipliers.shape != (len(snap.symbols),):
            raise ValueError("snapshot multipliers have the wrong length")
        if snap.base_rank is not None and snap.base_rank.shape != (n,):
            raise ValueError("snapshot rank has the wrong length")
        return snap

    def record(self) -> SnapshotRecord:
        assert self.base_rank is not None
        return SnapshotRecord(VERSION, self.fingerprint, tuple(self.keys), tuple(self.terms), Sparse.of(self.content),
                              Sparse.of(self.names), tuple(self.symbols), Array.of(self.multipliers),
                              Sparse.of(self.defs),
                              Sparse.of(self.refs), tuple(self.imports), Sparse.of(self.imported),
                              Sparse.of(self.import_edges),
                              Array.of(self.base_rank))

    # --- what ranking reads -------------------------------------------------------
    def bm25(self) -> tuple[BM25Index, BM25Index]:
        from repopack.packing.lexical import BM25Index

        vocab = _LazyIds(self.terms, self.term_ids)
        return BM25Index.from_counts(self.content, vocab), BM25Index.from_counts(self.names, vocab)

    def graph(self) -> RepoGraph:
        if self._graph is None:
            self._graph = self._build_graph(self.paths)
        return self._graph

    def _build_graph(self, paths: tuple[str, ...]) -> RepoGraph:
        from repopack.packing.graph import RepoGraph, edge_matrix, pagerank

        matrix = edge_matrix(self.defs, self.refs, self.multipliers, self.import_edges)
        if self.base_rank is None or self.base_rank.shape != (len(paths),):
            self.base_rank = pagerank(matrix, None, start=self.start)
        return RepoGraph(paths, matrix, Definers(self.symbols, self.defs, self.symbol_ids), self.base_rank)


class _LazyIds(Mapping[str, int]):
    """term -> column, built on first lookup (a question needs it; loading a snapshot does not)."""

    def __init__(self, words: Sequence[str], ids: dict[str, int] | None = None) -> None:
        self._words = words
        if ids is not None:
            self.__dict__["_ids"] = ids

    @cached_property
    def _ids(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self._words)}

    def __getitem__(self, word: str) -> int:
        return self._ids[word]

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._words)


Parts = Callable[[list[int]], tuple[list[Mapping[str, int]], list["FileSymbols"]]]


def derive(base: Snapshot | None, keys: Sequence[str], fingerprint: str, parts: Parts) -> Snapshot:
    """The snapshot of `keys` (per file path/digest/language): unchanged rows from `base`, new
    ones from `parts(indices) -> (term counts, symbols)` of the files not in `base`."""
    from repopack.packing.graph import import_matrix
    from repopack.packing.lexical import path_terms, word_terms

    n = len(keys)
    base_pos = {k: i for i, k in enumerate(base.keys)} if base is not None else {}
    new_of_base = [(i, base_pos[k]) for i, k in enumerate(keys) if k in base_pos]
    fresh = [i for i, k in enumerate(keys) if k not in base_pos]
    base_rows = np.asarray([b for _i, b in new_of_base], dtype=np.int64)
    # stacked row r -> new index; order[new index] = stacked row
    order = np.empty(n, dtype=np.int64)
    order[[i for i, _b in new_of_base]] = np.arange(len(new_of_base))
    order[fresh] = len(new_of_base) + np.arange(len(fresh))

    term_counts, symbols = parts(fresh) if fresh else ([], [])
    name_docs = []
    for fs in symbols:
        doc = path_terms(fs.path)
        for d in fs.defs:
            doc.update(word_terms(d.name))
        name_docs.append(doc)
    terms = _Vocab(base.terms if base else ())
    content_rows = _rows(term_counts, terms)
    name_rows = _rows(name_docs, terms)
    names = _Vocab(base.symbols if base else ())
    def_rows = _rows([[(name, 1) for name in sorted({d.name for d in fs.defs})] for fs in symbols], names, np.uint8)
    ref_rows = _rows([fs.refs for fs in symbols], names)
    targets = _Vocab(base.imports if base else ())
    import_rows = _rows([[(t, 1) for t in dict.fromkeys(fs.imports)] for fs in symbols], targets, np.uint8)

    def build(m: sp.csr_matrix | None, rows: tuple[np.ndarray, np.ndarray, np.ndarray], width: int) -> sp.csr_matrix:
        return _assemble(m, base_rows, rows, order, width)

    start = None
    if base is not None and base.base_rank is not None and len(new_of_base):
        start = np.full(n, 1.0 / n)
        start[[i for i, _b in new_of_base]] = base.base_rank[base_rows]
    known = len(base.symbols) if base else 0
    multipliers = np.concatenate([base.multipliers if base else np.zeros(0),
                                  np.fromiter((name_multiplier(w) for w in names.words[known:]), dtype=np.float64,
                                              count=len(names.words) - known)])
    imported = build(base.imported if base else None, import_rows, len(targets.words))
    paths = tuple(k.split("\0", 1)[0] for k in keys)
    languages = [k.rsplit("\0", 1)[1] or None for k in keys]
    if base is not None and base.paths == paths:
        # Same set of paths: where an unchanged file's imports lead has not changed either.
        fresh_edges = import_matrix(paths, languages, targets.words, imported, rows=fresh)
        import_edges = _assemble(base.import_edges, base_rows,
                                 (fresh_edges.indptr, fresh_edges.indices, fresh_edges.data), order, n)
    else:
        import_edges = import_matrix(paths, languages, targets.words, imported)
    snap = Snapshot(fingerprint, list(keys), terms.words,
                    build(base.content if base else None, content_rows, len(terms.words)),
                    build(base.names if base else None, name_rows, len(terms.words)),
                    names.words, multipliers,
                    build(base.defs if base else None, def_rows, len(names.words)),
                    build(base.refs if base else None, ref_rows, len(names.words)),
                    targets.words, imported, import_edges, None, start, reused=len(new_of_base), fresh=len(fresh),
                    term_ids=terms.ids, symbol_ids=names.ids)
    return _compact(snap)


def _compact(snap: Snapshot) -> Snapshot:
    """Drop vocabulary entries no file uses any more, once they are a quarter of it."""
    for vocab_attr, mats in (("terms", ("content", "names")), ("symbols", ("defs", "refs")),
                             ("imports", ("imported",))):
        words: list[str] = getattr(snap, vocab_attr)
        used = np.zeros(len(words), dtype=bool)
        for attr in mats:
            used[getattr(snap, attr).indices] = True
        if used.sum() >= 0.75 * len(words):
            continue
        new_id = np.cumsum(used) - 1
        import scipy.sparse as sp

        for attr in mats:
            m = getattr(snap, attr)
            setattr(snap, attr, sp.csr_matrix((m.data, new_id[m.indices].astype(np.int32), m.indptr),
                                              shape=(m.shape[0], int(used.sum()))))
        setattr(snap, vocab_attr, [w for w, u in zip(words, used, strict=True) if u])
        snap.term_ids = None if vocab_attr == "terms" else snap.term_ids
        snap.symbol_ids = None if vocab_attr == "symbols" else snap.symbol_ids
        if vocab_attr == "symbols":
            snap.multipliers = snap.multipliers[used]
    return snap


def overlap(base_keys: Sequence[str], keys: set[str]) -> float:
    return sum(1 for k in base_keys if k in keys) / max(1, len(keys))


def store_keys(scope: str | None) -> tuple[str, str]:
    return Cache.namespace("snapshot", VERSION, code_stamp()), scope or "-"


def load_base(cache: Cache, scope: str | None, keys: Sequence[str], fingerprint: str) -> Snapshot | None:
    """This scope's last snapshot, else the latest one of any scope, when enough of it still holds."""
    ns, key = store_keys(scope)
    wanted = set(keys)
    candidates = [key]
    latest = cache.get(Cache.namespace("snapshot-latest", VERSION, code_stamp()), "latest", str)
    if isinstance(latest, str) and latest != key:
        candidates.append(latest)
    for candidate in candidates:
        record = cache.get(ns, candidate, SnapshotRecord)
        if record is None or record.version != VERSION:
            continue
        if record.fingerprint == fingerprint or overlap(record.keys, wanted) >= MIN_SHARED:
            try:
                snap = Snapshot.load(record)
            except (ValueError, TypeError):
                cache.delete(ns, candidate)
                continue
            snap.scope = candidate
            return snap
    return None


def worth_saving(base: Snapshot | None, snap: Snapshot, scope: str | None) -> bool:
    """A few changed files are cheaper to derive again next time than to store a whole snapshot:
    the stored one stays the base until the files changed since it are many (or it is another
    tree's)."""
    if base is None or base.scope != (scope or "-"):
        return True
    return snap.fresh > max(RESTORE_MIN_FILES, RESTORE_SHARE * len(snap.keys))


def save(cache: Cache, scope: str | None, snap: Snapshot) -> None:
    ns, key = store_keys(scope)
    cache.put(ns, key, snap.record())
    cache.put(Cache.namespace("snapshot-latest", VERSION, code_stamp()), "latest", key)
    cache.flush()

