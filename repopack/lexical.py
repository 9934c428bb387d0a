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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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


def split_identifier(word: str) -> list[str]:
    parts = [p for chunk in word.split("_") for p in _CAMEL.findall(chunk)]
    return [p.lower() for p in parts if p]


def terms_of(text: str) -> Counter[str]:
    """Term counts of a text: whole identifiers and their parts, lower-cased, stop words out."""
    counts: Counter[str] = Counter()
    for word, n in Counter(_WORD.findall(text)).items():
        low = word.lower()
        if len(low) >= 2 and low not in STOP_WORDS and not low.isdigit():
            counts[low] += n
        parts = split_identifier(word)
        if len(parts) > 1:
            for part in parts:
                if len(part) >= 2 and part not in STOP_WORDS and not part.isdigit():
                    counts[part] += n
    return counts


def path_terms(path: str) -> Counter[str]:
    return terms_of(re.sub(r"[/.\-]", " ", path))


@dataclass(frozen=True)
class BM25Index:
    """An inverted index over one field of every file."""

    n_docs: int
    avg_len: float
    doc_len: tuple[int, ...]
    postings: dict[str, tuple[tuple[int, int], ...]] = field(repr=False)

    @classmethod
    def build(cls, docs: Sequence[Mapping[str, int]]) -> BM25Index:
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths = []
        for i, doc in enumerate(docs):
            lengths.append(sum(doc.values()))
            for term, tf in doc.items():
                postings.setdefault(term, []).append((i, tf))
        avg = (sum(lengths) / len(lengths)) if lengths else 0.0
        return cls(len(docs), avg or 1.0, tuple(lengths), {t: tuple(p) for t, p in postings.items()})

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)) if df else 0.0

    def scores(self, query: Mapping[str, float]) -> list[float]:
        out = [0.0] * self.n_docs
        for term, qw in query.items():
            plist = self.postings.get(term)
            if not plist:
                continue
            idf = self.idf(term)
            for doc, tf in plist:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.doc_len[doc] / self.avg_len))
                out[doc] += qw * idf * norm
        return out


def query_weights(text: str) -> dict[str, float]:
    """Query term weights: multiplicity dampened, so a word repeated in a log doesn't dominate."""
    return {t: 1.0 + math.log(n) for t, n in terms_of(text).items()}


def iter_identifiers(text: str) -> Iterable[str]:
    return _WORD.findall(text)
