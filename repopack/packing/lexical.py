"""Words of code and of questions, and BM25 over them.

Identifiers are split into their parts (`compute_invoice_total` → compute, invoice, total;
`parseHTTPResponse` → parse, http, response) and also kept whole, so a question in plain
words meets the code that names the same things.  Per-file term counts are small records
that the cache keeps by content hash.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Lucene's English stop words plus words every program and issue is full of.
STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then there these
    they this to was will with i we you he she me my our your its is was were been being have has had do does
    did can could should would may might must shall also just than so very too only any all some more most
    other which who whom what when where why how here after before about above below up down out over under
    again further once s t don get got use used using like one two new see want need make made way
    self cls this def return import from true false none null nil""".split()
)
K1 = 0.9
B = 0.4

if TYPE_CHECKING:
    import scipy.sparse as sp


@lru_cache(maxsize=200_000)
def split_identifier(word: str) -> tuple[str, ...]:
    parts = [p for chunk in word.split("_") for p in _CAMEL.findall(chunk)]
    return tuple(p.lower() for p in parts if p)


def _keep(term: str) -> bool:
    return len(term) >= 2 and term not in STOP_WORDS and not term.isdigit()


@lru_cache(maxsize=500_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The terms one word stands for (cached: a repository repeats its identifiers endlessly)."""
    low = word.lower()
    terms = [low] if _keep(low) else []
    parts = split_identifier(word)
    if len(parts) > 1:
        terms.extend(p for p in parts if _keep(p))
    return tuple(terms)


def terms_of(text: str) -> Counter[str]:
    """Term counts of a text: whole identifiers and their parts, lower-cased, stop words out."""
    counts: Counter[str] = Counter()
    for word, n in Counter(_WORD.findall(text)).items():
        for term in word_terms(word):
            counts[term] += n
    return counts


def path_terms(path: str) -> Counter[str]:
    return terms_of(re.sub(r"[/.\-]", " ", path))


@dataclass(frozen=True)
class BM25Index:
    """BM25 over one field of every file, as a sparse docs × terms matrix of saturated tf.

    Scoring a question is one sparse mat-vec.  The index is derived from term counts that
    each snapshot keeps (see `snapshot`), so only changed files are counted again.
    """

    n_docs: int
    vocab: Mapping[str, int] = field(repr=False)
    weights: sp.csc_matrix = field(repr=False)  # docs × terms, BM25 tf part (length-normalised)
    idf: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, docs: Sequence[Mapping[str, int]]) -> BM25Index:
        vocab: dict[str, int] = {}
        indptr = [0]
        cols: list[int] = []
        tfs: list[int] = []
        for doc in docs:
            for term, tf in doc.items():
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
            indptr.append(len(cols))
        import scipy.sparse as sp  # ranking only

        counts = sp.csr_matrix((np.asarray(tfs, dtype=np.float64), np.asarray(cols, dtype=np.int32),
                                np.asarray(indptr, dtype=np.int64)), shape=(len(docs), len(vocab)))
        return cls.from_counts(counts, vocab)

    @classmethod
    def from_counts(cls, counts: sp.csr_matrix, vocab: Mapping[str, int]) -> BM25Index:
        """From a docs × terms matrix of term counts (columns as in `vocab`)."""
        import scipy.sparse as sp

        n = counts.shape[0]
        tf = counts.data.astype(np.float64)
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        row = np.repeat(np.arange(n), np.diff(counts.indptr))
        sat = tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[row] / avg)) if len(tf) else tf
        weights = sp.csr_matrix((sat, counts.indices, counts.indptr), shape=counts.shape).tocsc()
        df = np.diff(weights.indptr)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        return cls(n, vocab, weights, idf)

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        cols = [self.vocab[t] for t in query if t in self.vocab]
        if not cols:
            return np.zeros(self.n_docs)
        qw = np.array([query[t] for t in query if t in self.vocab]) * self.idf[cols]
        return np.asarray(self.weights[:, cols] @ qw).ravel()


def query_weights(text: str) -> dict[str, float]:
    """Query term weights: multiplicity dampened, so a word repeated in a log doesn't dominate."""
    return {t: 1.0 + math.log(n) for t, n in terms_of(text).items()}
