"""Everything question-independent about a repository, built once and reused.

A `RepoIndex` holds each file's token count, symbols and terms, the file graph with its
base PageRank, and the BM25 indexes.  Per-file records come from the content-hash cache
when possible, so a second run on an unchanged repository parses and tokenises nothing,
and an edited file is re-parsed alone.  The session and the TUI keep one index in memory
and only re-personalise the ranking for each new question.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from repopack.cache import Cache
from repopack.graph import RepoGraph, build_graph
from repopack.lexical import BM25Index, path_terms, terms_of
from repopack.parse import FileSymbols, parse_file
from repopack.skeleton import number_lines, skeleton_text
from repopack.tokens import Tokenizer
from repopack.walk import SourceFile

Progress = Callable[[str, int, int], None]
PARSE_VERSION = 1  # bump when parse output changes shape or content


@dataclass
class RepoIndex:
    files: tuple[SourceFile, ...]
    tokenizer: Tokenizer
    tokens: list[int]
    symbols: list[FileSymbols] | None
    terms: list[Counter[str]] | None
    cache: Cache = field(repr=False)
    line_numbers: bool = False

    @cached_property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    @cached_property
    def position(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}

    @cached_property
    def graph(self) -> RepoGraph:
        assert self.symbols is not None, "build the index with symbols to rank by graph"
        key = _fingerprint(self.files)
        ns = Cache.namespace("graph", PARSE_VERSION)
        cached = self.cache.get(ns, key)
        if isinstance(cached, RepoGraph) and cached.paths == self.paths:
            return cached
        graph = build_graph(self.symbols)
        self.cache.put(ns, key, graph)
        return graph

    @cached_property
    def content_bm25(self) -> BM25Index:
        assert self.terms is not None
        return BM25Index.build(self.terms)

    @cached_property
    def name_bm25(self) -> BM25Index:
        """Path and defined names: the field that says what a file *is*."""
        assert self.symbols is not None
        docs = []
        for f, fs in zip(self.files, self.symbols, strict=True):
            doc = path_terms(f.path)
            for d in fs.defs:
                doc.update(terms_of(d.name))
            docs.append(doc)
        return BM25Index.build(docs)

    def body(self, i: int) -> str:
        text = self.files[i].text
        return number_lines(text) + "\n" if self.line_numbers and text else text

    def skeletons(self, indices: Sequence[int]) -> dict[int, tuple[str, int]]:
        """Skeleton text and its token count for these files (cached by content)."""
        if self.symbols is None:
            return {}
        ns = Cache.namespace("skeleton", PARSE_VERSION, self.tokenizer.name)
        keys = {i: self.files[i].digest + ":" + (self.files[i].language or "") for i in indices}
        found = self.cache.get_many(ns, keys.values())
        out: dict[int, tuple[str, int]] = {}
        missing = []
        for i, key in keys.items():
            if key in found:
                out[i] = found[key]
            else:
                missing.append(i)
        texts = [skeleton_text(self.files[i].text, self.symbols[i]) for i in missing]
        counts = self.tokenizer.count_many(texts)
        fresh = {}
        for i, text, count in zip(missing, texts, counts, strict=True):
            out[i] = (text, count)
            fresh[keys[i]] = (text, count)
        self.cache.put_many(ns, fresh)
        return out


def _fingerprint(files: Sequence[SourceFile]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        h.update(f"{f.path}\0{f.digest}\n".encode())
    return h.hexdigest()


def _cached_map(cache: Cache, ns: str, keys: list[str], compute: Callable[[list[int]], list], label: str,
                progress: Progress | None) -> list:
    found = cache.get_many(ns, keys)
    values: list = [found.get(k) for k in keys]
    missing = [i for i, v in enumerate(values) if v is None]
    if missing:
        computed = compute(missing)
        fresh = {}
        for i, value in zip(missing, computed, strict=True):
            values[i] = value
            fresh[keys[i]] = value
        cache.put_many(ns, fresh)
    if progress:
        progress(label, len(keys), len(keys))
    return values


def build_index(files: Sequence[SourceFile], tokenizer: Tokenizer, cache: Cache, *, with_symbols: bool,
                line_numbers: bool = False, progress: Progress | None = None) -> RepoIndex:
    files = tuple(files)
    digests = [f.digest for f in files]
    tok_ns = Cache.namespace("tokens", tokenizer.name, int(line_numbers))

    def count(missing: list[int]) -> list[int]:
        texts = [files[i].text for i in missing]
        if line_numbers:
            texts = [number_lines(t) + "\n" if t else t for t in texts]
        return tokenizer.count_many(texts)

    tokens = _cached_map(cache, tok_ns, digests, count, "count", progress)
    symbols = terms = None
    if with_symbols:
        sym_ns = Cache.namespace("symbols", PARSE_VERSION)
        sym_keys = [f.digest + ":" + (f.language or "") for f in files]

        def parse(missing: list[int]) -> list[FileSymbols]:
            return [parse_file(files[i].path, files[i].text, files[i].language) for i in missing]

        raw = _cached_map(cache, sym_ns, sym_keys, parse, "parse", progress)
        # The same content may live at several paths: the cached record keeps the first one's path.
        symbols = [s if s.path == f.path else dataclasses.replace(s, path=f.path)
                   for s, f in zip(raw, files, strict=True)]
        term_ns = Cache.namespace("terms", 1)
        terms = _cached_map(cache, term_ns, digests, lambda missing: [terms_of(files[i].text) for i in missing],
                            "terms", progress)
    cache.flush()
    return RepoIndex(files, tokenizer, tokens, symbols, terms, cache, line_numbers)
