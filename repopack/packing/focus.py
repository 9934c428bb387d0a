"""The focused fidelity: the lines of a file that matter for the question, with their numbers.

A file's lines split into its skeleton (imports, signatures, short docs) and *units*: each
definition (its signature lines, and its body without the definitions nested in it, which
are units of their own) and each run of module-level code outside any definition.  A
focused file comes in two shapes, and the fitter picks by value per token:

* wide: the whole skeleton, with the bodies of the chosen units added (a small or mid-sized
  file, where every signature is cheap context);
* lean: the file's opening docstring, the imports the chosen units use, the chosen units
  whole and the signatures of the classes around them; all else is elided (a 30k-token
  module goes in as the 2k tokens around the one function that matters).

A unit also brings the module-level constants and variables of its file that it uses.  The
split and each unit's token costs, terms and identifiers are question-independent, so an
`Outline` is cached by content hash.

Units are scored for a question from the same signals as files (`score_units`): the
question's words against a unit's name and body (BM25 with the repository's idf), the
identifiers it names, traceback frames and diff hunks inside the unit, then one step along
calls: the callees and callers of strongly matching units.  `unit_shares` turns the scores
into the share of a file's value each unit is expected to hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from repopack.packing.lexical import split_identifier, terms_of
from repopack.packing.parse import FileSymbols
from repopack.packing.skeleton import (
    import_starts,
    leading_doc,
    numbered_line,
    render_kept,
    skeleton_keep,
    split_lines,
)

if TYPE_CHECKING:
    from repopack.packing.fit import Focus
    from repopack.packing.index import RepoIndex
    from repopack.packing.rank import Signals

MODULE_KIND = "module"
BLOCK_KIND = "block"  # a slice of a long definition's body
SPLIT_TOKENS = 400  # a definition whose own body costs more than this is split into blocks
BLOCK_TOKENS = 150  # ... of about this many tokens, cut where a statement of the body starts
LINE_TOKENS = 5  # what a numbered line costs besides its text (gutter, indentation, newline)
K1, B = 1.2, 0.5  # BM25 over units: units vary in length far more than files do
NAME_MATCH = 3.0  # a unit named by the question, in units of the question's strongest term
NAME_BOOST = 2.0  # ... and its other evidence counts this many times more
NEST_SHARE = 0.3  # what a unit gains of the match of the definition it is nested in (a class, an object)
CONTAINER_MATCH = 1.0  # a unit inside a class the question names
HEAD_WEIGHT = 2.0  # a term in a definition's signature or docstring counts this many times one in its body
LOCAL_IDF = 0.4  # how much rarity among the file's own units weighs in a term's weight
SHARPNESS = 3.0  # shares follow (score / best score) ** SHARPNESS
SIZE_FLOOR = 10  # tokens added to each unit's size in the prior (a definition with no body can hold an edit)
FRAME_MATCH = 6.0  # a traceback frame inside the unit
HUNK_MATCH = 6.0  # a changed line inside the unit
CALLEE_SHARE = 0.35  # what a strongly matching unit passes to the units it calls
CALLER_SHARE = 0.2  # ... and to the units that call it
HOT_SHARE = 0.5  # units at least this share of their file's best score pass credit along calls
COST_EXPONENT = 0.5
CONSTRUCTORS = frozenset({"__init__", "__new__", "constructor", "new", "initialize"})
ALL_IMPORTS = -1  # a focus step that shows every import of the file
IMPORTS_SHARE = 0.04  # the share of a file's edited lines in its imports (3.7 % on the visible tasks' gold files)
MARGIN_TOKENS = 6  # the numbered blank lines around an expanded definition
MARKER_TOKENS = 5  # an elision marker line ("   ⋮ 120 lines")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")
_IMPORT_WORDS = frozenset({"import", "from", "as", "use", "require", "include", "package", "const", "let", "var"})

Runs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Unit:
    """One definition (or one run of module-level code) of a file."""

    name: str  # the definition's name; "" for module-level code
    parent: str | None
    kind: str  # the definition's kind, or "module"
    first: int  # the span the unit belongs to (1-based, inclusive), for frames and hunks
    last: int
    head: Runs  # its skeleton lines: decorators, signature, doc lines
    runs: Runs  # the rest of its own lines (elided in a skeleton)
    head_tokens: int
    tokens: int  # tokens of `runs`, numbered as in skeletons
    terms: Mapping[str, int]  # terms of its own lines
    length: int  # number of terms, for BM25 length normalisation
    words: frozenset[str]  # identifiers used in its own lines (its callees, by name)
    outer: int = -1  # the unit of the definition it is nested in
    head_terms: Mapping[str, int] = field(default_factory=dict)  # terms of its signature and doc lines

    @property
    def label(self) -> str:
        if self.kind == BLOCK_KIND:
            return f"{self.parent} lines {self.first}-{self.last}"
        if not self.name:
            return f"lines {self.first}-{self.last}"
        return f"{self.parent}.{self.name}" if self.parent and self.kind == "method" else self.name


@dataclass(frozen=True)
class Import:
    runs: Runs
    tokens: int
    names: frozenset[str]


@dataclass(frozen=True)
class Outline:
    """The question-independent split of one file into skeleton and units."""

    n_lines: int
    skeleton: Runs  # every line a skeleton keeps
    opening: Runs  # the file's opening docstring or comment (up to a few lines)
    opening_tokens: int
    imports: tuple[Import, ...]
    units: tuple[Unit, ...]


def _runs(numbers: Sequence[int]) -> Runs:
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and out[-1][1] >= n - 1:
            out[-1] = (out[-1][0], max(out[-1][1], n))
        else:
            out.append((n, n))
    return tuple(out)


def _numbers(runs: Runs) -> list[int]:
    return [n for a, b in runs for n in range(a, b + 1)]


def build_outlines(items: Sequence[tuple[str, FileSymbols]],
                   count_many: Callable[[list[str]], list[int]]) -> list[Outline]:
    """Outlines of several files; ``count_many`` counts a list of texts in one batch."""
    drafts = [_draft(text, symbols) for text, symbols in items]
    texts = [t for d in drafts for t in d.texts]
    counts = iter(count_many(texts) if texts else [])
    out: list[Outline] = []
    for d in drafts:
        opening_tokens = next(counts) + 1 if d.opening else 0
        imports = tuple(Import(runs, next(counts) + 1, names) for runs, names in d.imports)
        units = []
        for u in d.units:
            head_tokens = next(counts) + 1 if u["head"] else 0
            tokens = next(counts) + 1 if u["runs"] else 0
            units.append(Unit(u["name"], u["parent"], u["kind"], u["first"], u["last"], u["head"], u["runs"],
                              head_tokens, tokens, u["terms"], sum(u["terms"].values()), u["words"], u["outer"],
                              u["head_terms"]))
        out.append(Outline(d.n_lines, d.skeleton, d.opening, opening_tokens, imports, tuple(units)))
    return out


@dataclass
class _Draft:
    n_lines: int
    skeleton: Runs
    opening: Runs
    imports: list[tuple[Runs, frozenset[str]]]
    units: list[dict]
    texts: list[str]  # to count, in the order build_outlines reads them


def _draft(text: str, symbols: FileSymbols) -> _Draft:
    lines = split_lines(text)
    n_lines = len(lines)
    keep = skeleton_keep(lines, symbols)
    width = len(str(n_lines))

    def numbered(runs: Runs) -> str:
        return "\n".join(numbered_line(n, lines[n - 1], width) for n in _numbers(runs))

    defs = symbols.defs
    owner = [-1] * (n_lines + 1)  # the innermost definition containing each line
    outer = [-1] * len(defs)
    order = sorted(range(len(defs)), key=lambda k: (defs[k].line, -defs[k].end_line))
    for k in order:
        d = defs[k]
        if 1 <= d.line <= n_lines:
            outer[k] = owner[d.line]
        for n in range(max(d.line, 1), min(d.end_line, n_lines) + 1):
            owner[n] = k
    # Decorators and attributes just above a definition belong to it.
    head_of: dict[int, list[int]] = {}
    for k in order:
        d = defs[k]
        n = d.line - 1
        while n >= 1 and keep[n] and lines[n - 1].lstrip().startswith(("@", "#[")) and owner[n] == outer[k]:
            head_of.setdefault(k, []).append(n)
            n -= 1
    opening_first, opening_last = leading_doc(lines, symbols.language)
    opening = _runs(range(opening_first, opening_last + 1)) if opening_last else ()
    imports: list[tuple[Runs, frozenset[str]]] = []
    for first, last in import_starts(lines, symbols.language):
        stmt = " ".join(lines[n - 1] for n in range(first, last + 1))
        imports.append((((first, last),), frozenset(_WORD.findall(stmt)) - _IMPORT_WORDS))
    owned: dict[int, list[int]] = {}
    module: list[list[int]] = []
    for n in range(1, n_lines + 1):
        k = owner[n]
        if k >= 0:
            owned.setdefault(k, []).append(n)
        elif not keep[n] and lines[n - 1].strip():
            if module and all(not lines[m - 1].strip() and owner[m] < 0 for m in range(module[-1][-1] + 1, n)):
                module[-1].append(n)
            else:
                module.append([n])
    units: list[dict] = []
    index_of: dict[int, int] = {}
    splits: list[tuple[int, list[list[int]]]] = []  # (unit, its body's blocks) of long definitions
    for k in order:
        d = defs[k]
        own = owned.get(k, [])
        head = _runs([n for n in own if keep[n]] + head_of.get(k, []))
        body = _runs(_fill_blanks([n for n in own if not keep[n] and lines[n - 1].strip()], lines))
        if not head and not body:
            continue
        index_of[k] = len(units)
        blocks = _blocks(_numbers(body), lines) if body else []
        if len(blocks) > 1:  # the body goes in as blocks (below); the definition keeps its head
            splits.append((len(units), blocks))
            body, own = (), [n for n in own if keep[n]] + head_of.get(k, [])
        units.append({"name": d.name, "parent": d.parent, "kind": d.kind, "first": d.line, "last": d.end_line,
                      "head": head, "runs": body, "outer": outer[k],
                      "terms": dict(terms_of("\n".join(lines[n - 1] for n in own))),
                      "head_terms": dict(terms_of("\n".join(lines[n - 1] for n in _numbers(head)))),
                      "words": frozenset(_WORD.findall("\n".join(lines[n - 1] for n in _numbers(body))))})
    for u in units:
        u["outer"] = index_of.get(u["outer"], -1)
    for at, blocks in splits:
        host = units[at]
        host_label = f"{host['parent']}.{host['name']}" if host["parent"] and host["kind"] == "method" else host["name"]
        for block in blocks:
            chunk = "\n".join(lines[n - 1] for n in block)
            units.append({"name": "", "parent": host_label, "kind": BLOCK_KIND, "first": block[0],
                          "last": block[-1], "head": (), "runs": _runs(block), "outer": at, "head_terms": {},
                          "terms": dict(terms_of(chunk)), "words": frozenset(_WORD.findall(chunk))})
    for g in module:
        body = _runs(_fill_blanks(g, lines))
        chunk = "\n".join(lines[n - 1] for n in _numbers(body))
        units.append({"name": "", "parent": None, "kind": MODULE_KIND, "first": g[0], "last": g[-1], "head": (),
                      "runs": body, "outer": -1, "terms": dict(terms_of(chunk)), "head_terms": {},
                      "words": frozenset(_WORD.findall(chunk))})
    texts = [numbered(opening)] if opening else []
    texts += [numbered(runs) for runs, _names in imports]
    for u in units:
        texts += [numbered(r) for r in (u["head"], u["runs"]) if r]
    kept = [n for n in range(1, n_lines + 1) if keep[n]]
    return _Draft(n_lines, _runs(kept), opening, imports, units, texts)


_CONTINUES = ("}", ")", "]", "else", "elif", "except", "finally", "catch")  # a line that does not start a statement
_LABEL = re.compile(r"[A-Za-z_]\w*:$")


def _blocks(numbers: list[int], lines: list[str]) -> list[list[int]]:
    """A long body's lines in blocks of about BLOCK_TOKENS, each starting at a statement of the body's
    outermost indentation (or deeper, in a block that grew long); one block if the body is short.

    Sizes are estimated tokens of the numbered lines: a line costs about a token per 4 characters
    of its text plus LINE_TOKENS, so deeply indented short lines count for what they cost."""
    texts = [lines[n - 1] for n in numbers]
    if sum(_line_cost(t) for t in texts) <= SPLIT_TOKENS:
        return [numbers]
    # A line like `Loop:` shallower than every statement of the body is a label (Go, C, JS), not a
    # level of the body: counted as one, it would make the whole loop after it one block.
    base = min((_indent(t) for t in texts if _starts(t) and not _LABEL.match(t.strip())), default=0)

    def starts(t: str) -> bool:
        return _starts(t) and not (_indent(t) < base and _LABEL.match(t.strip()))

    indents = sorted({_indent(t) for t in texts if starts(t)})
    if not indents:
        return [numbers]
    level = {indent: k for k, indent in enumerate(indents)}
    out: list[list[int]] = [[]]
    size, lowest = 0, len(indents)
    for n, text in zip(numbers, texts, strict=True):
        stripped = text.strip()
        starts_here = starts(text)
        at = level.get(_indent(text), len(indents)) if starts_here else len(indents)
        # Past BLOCK_TOKENS a block ends before a statement as shallow as its shallowest one; the
        # longer it grows, the deeper that statement may be.
        if out[-1] and starts_here and size >= BLOCK_TOKENS and at <= lowest + 2 * (size // BLOCK_TOKENS) - 2:
            out.append([])
            size, lowest = 0, len(indents)
        if out[-1] or stripped:
            out[-1].append(n)
            size += _line_cost(text)
            lowest = min(lowest, at)
    if len(out) > 1 and sum(_line_cost(lines[n - 1]) for n in out[-1]) < BLOCK_TOKENS // 4:
        out[-2].extend(out.pop())  # a short tail (the closing lines) stays with the block before it
    return [block for block in out if any(lines[n - 1].strip() for n in block)]


def _starts(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith(_CONTINUES)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _line_cost(text: str) -> int:
    stripped = text.strip()
    return len(stripped) // 4 + LINE_TOKENS if stripped else 1


def _fill_blanks(numbers: list[int], lines: list[str]) -> list[int]:
    """Add the blank lines between consecutive members, so blank lines do not split a unit's runs."""
    out: list[int] = []
    for n in numbers:
        if out and n > out[-1] + 1 and all(not lines[m - 1].strip() for m in range(out[-1] + 1, n)):
            out.extend(range(out[-1] + 1, n))
        out.append(n)
    return out


def needed_imports(outline: Outline, chosen: Sequence[int]) -> list[int]:
    """The imports the chosen units use (all of them once ALL_IMPORTS is chosen)."""
    if ALL_IMPORTS in chosen:
        return list(range(len(outline.imports)))
    words: set[str] = set()
    for k in chosen:
        words |= outline.units[k].words
    return [m for m, imp in enumerate(outline.imports) if imp.names & words]


def ancestors(outline: Outline, k: int) -> list[int]:
    out = []
    k = outline.units[k].outer
    while k >= 0:
        out.append(k)
        k = outline.units[k].outer
    return out


def focused_text(text: str, outline: Outline, chosen: Sequence[int], lean: bool = False) -> str:
    """The file with the ``chosen`` units whole: over its skeleton (wide) or over little else (lean)."""
    lines = split_lines(text)
    keep = [False] * (len(lines) + 1)
    runs: list[Runs] = []
    if lean:
        runs.append(outline.opening)
        runs.extend(outline.imports[m].runs for m in needed_imports(outline, chosen))
        for k in chosen:
            if k != ALL_IMPORTS:
                runs.append(outline.units[k].head)
                runs.extend(outline.units[a].head for a in ancestors(outline, k))
    else:
        runs.append(outline.skeleton)
    runs.extend(outline.units[k].runs for k in chosen if k != ALL_IMPORTS)
    for group in runs:
        for a, b in group:
            for n in range(a, min(b, len(lines)) + 1):
                keep[n] = True
    # The blank lines around a chosen definition, numbered: a patch that adds code next to it goes there.
    for k in chosen:
        if k == ALL_IMPORTS or outline.units[k].kind == BLOCK_KIND:
            continue
        u = outline.units[k]
        first = min((a for a, _b in u.head), default=u.first)
        for n in (first - 1, u.last + 1):
            if 1 <= n <= len(lines) and not lines[n - 1].strip():
                keep[n] = True
    return render_kept(lines, keep)


@dataclass(frozen=True)
class UnitQuery:
    """What a question asks of units: weighted terms (idf included), identifiers, frames and hunks."""

    terms: Mapping[str, float]
    identifiers: Mapping[str, float]
    frames: Mapping[str, tuple[int, ...]]  # path -> lines of traceback frames in it
    hunks: Mapping[str, tuple[tuple[int, int], ...]]  # path -> changed line ranges


def score_units(outline: Outline, path: str, query: UnitQuery) -> list[float]:
    """How strongly each unit of one file matches the question (0: no evidence)."""
    units = outline.units
    if not units:
        return []
    avg = sum(u.length for u in units) / len(units) or 1.0
    frames = query.frames.get(path, ())
    hunks = query.hunks.get(path, ())
    # Which unit of this file: a term every unit uses tells them apart less than one few use.
    n = len(units)
    spread = math.log(1 + (n + 0.5) / 0.5)
    local: dict[str, float] = {}
    for term in query.terms:
        df = sum(1 for u in units if term in u.terms)
        local[term] = math.log(1 + (n - df + 0.5) / (df + 0.5)) / spread if n > 1 else 1.0
    scores: list[float] = []
    for u in units:
        s = 0.0
        if query.terms:
            norm = K1 * (1 - B + B * u.length / avg)
            for term, weight in query.terms.items():
                tf = u.terms.get(term, 0) + (HEAD_WEIGHT - 1) * u.head_terms.get(term, 0)
                if tf:
                    s += weight * (LOCAL_IDF * local[term] + 1 - LOCAL_IDF) * tf * (K1 + 1) / (tf + norm)
        # A block of a long definition is matched by the definition's name and container.
        name, outer = (units[u.outer].name, units[u.outer].outer) if u.kind == BLOCK_KIND else (u.name, u.outer)
        if name:
            w = query.identifiers.get(name)
            if not w and name in CONSTRUCTORS and outer >= 0:
                w = query.identifiers.get(units[outer].name)  # naming a class calls its constructor
            if w:
                s = (s + NAME_MATCH * w * _top_weight(query)) * (1 + NAME_BOOST * w)
            else:
                parts = split_identifier(name)
                if len(parts) > 1:
                    s += 0.5 * sum(query.terms.get(p, 0.0) for p in parts) / len(parts)
        if outer >= 0 and not query.identifiers.get(name):
            w = query.identifiers.get(units[outer].name)
            if w:  # a method of a class the question names
                s += CONTAINER_MATCH * w * _top_weight(query)
        if any(u.first <= line <= u.last for line in frames):
            s += FRAME_MATCH * _top_weight(query)
        if any(a <= u.last and u.first <= b for a, b in hunks):
            s += HUNK_MATCH * _top_weight(query)
        scores.append(s)
    if NEST_SHARE:  # a member of a matching class or object shares in its match
        own = list(scores)
        for k, u in enumerate(units):
            if u.kind != BLOCK_KIND and u.outer >= 0:
                scores[k] += NEST_SHARE * own[u.outer]
    return scores


def _top_weight(query: UnitQuery) -> float:
    return max(query.terms.values(), default=1.0) or 1.0


def spread_along_calls(outlines: Sequence[Outline], scores: list[list[float]], weights: Sequence[float]) -> None:
    """One step along calls: units called by (or calling) a strongly matching unit gain part of its score.

    ``weights`` are the files' relative values, so a match in a likely file passes on more.
    """
    hot_callees: dict[str, float] = {}  # name used by a hot unit -> credit
    hot_names: dict[str, float] = {}  # name of a hot unit -> credit
    for outline, s, w in zip(outlines, scores, weights, strict=True):
        top = max(s, default=0.0)
        if top <= 0:
            continue
        for u, v in zip(outline.units, s, strict=True):
            if v < HOT_SHARE * top:
                continue
            credit = v * w
            for word in u.words:
                if word != u.name:
                    hot_callees[word] = max(hot_callees.get(word, 0.0), credit)
            if u.name and len(u.name) >= 3:
                hot_names[u.name] = max(hot_names.get(u.name, 0.0), credit)
    if not hot_callees and not hot_names:
        return
    # A call names its callee only by name: credit is split among the definitions of that name.
    defined: dict[str, int] = {}
    for outline in outlines:
        for u in outline.units:
            if u.name and u.name in hot_callees:
                defined[u.name] = defined.get(u.name, 0) + 1
    for outline, s in zip(outlines, scores, strict=True):
        for k, u in enumerate(outline.units):
            bonus = 0.0
            if u.name and u.name in hot_callees:
                bonus = CALLEE_SHARE * hot_callees[u.name] / defined[u.name]
            called = [hot_names[w] for w in u.words if w in hot_names and w != u.name]
            if called:
                bonus = max(bonus, CALLER_SHARE * max(called))
            s[k] += bonus


def unit_shares(outline: Outline, scores: Sequence[float]) -> list[float]:
    """The expected share of the file's relevant lines in each unit (sums to 1).

    Without evidence, lines are equally likely anywhere (shares by size).  With it, the
    matching units take most of the mass, sharper the clearer the best match stands out.
    """
    units = outline.units
    if not units:
        return []
    # By size, signature lines included: a fix may edit a signature-only definition too.
    sizes = [u.tokens + u.head_tokens + SIZE_FLOOR for u in units]
    total = sum(sizes)
    prior = [z / total for z in sizes]
    top = max(scores, default=0.0)
    if top <= 0:
        return prior
    evidence = [(s / top) ** SHARPNESS for s in scores]
    mass = sum(evidence)
    confidence = min(0.9, 0.5 + 0.1 * math.log1p(top))
    return [confidence * e / mass + (1 - confidence) * p for e, p in zip(evidence, prior, strict=True)]


@dataclass(frozen=True)
class FocusPlan:
    """One shape's expansion steps, best first: each step is a unit plus the module-level names it uses."""

    lean: bool
    base_tokens: int  # before any step: the skeleton (wide) or the opening docstring (lean)
    steps: tuple[tuple[int, ...], ...]  # unit indices per step
    labels: tuple[str, ...]
    costs: tuple[int, ...]  # tokens each step adds
    shares: tuple[float, ...]  # share of the file's relevant lines each step adds


def plan_steps(outline: Outline, shares: Sequence[float], lean: bool, skeleton_tokens: int = 0,
               max_steps: int = 48) -> FocusPlan:
    """Order a file's units by expected share per token, charging each step what it adds."""
    units = outline.units
    module_names: dict[str, int] = {}
    for k, u in enumerate(units):
        if u.name and u.outer < 0 and u.kind in ("constant", "variable"):
            module_names.setdefault(u.name, k)

    def own_cost(k: int) -> int:
        return units[k].tokens + (units[k].head_tokens + MARKER_TOKENS if lean else 0)

    pool = [k for k in range(len(units)) if own_cost(k) > 0 and (lean or units[k].runs)]
    rate = {k: shares[k] / max(own_cost(k), 1) ** COST_EXPONENT for k in pool}
    import_tokens = sum(imp.tokens for imp in outline.imports)
    if lean and import_tokens:  # the whole import block, where a fix adds the import it needs
        pool.append(ALL_IMPORTS)
        rate[ALL_IMPORTS] = IMPORTS_SHARE / import_tokens ** COST_EXPONENT
    order = sorted(pool, key=lambda k: (-rate[k], k))
    taken: set[int] = set()
    shown: set[int] = set()  # units whose head is shown (lean)
    imports: set[int] = set()
    steps: list[tuple[int, ...]] = []
    labels: list[str] = []
    costs: list[int] = []
    gains: list[float] = []
    for k in order:
        if k in taken:
            continue
        if len(steps) >= max_steps:
            break
        if k == ALL_IMPORTS:
            rest = [m for m in range(len(outline.imports)) if m not in imports]
            imports.update(rest)
            steps.append((ALL_IMPORTS,))
            labels.append("imports")
            costs.append(sum(outline.imports[m].tokens for m in rest))
            gains.append(IMPORTS_SHARE)
            continue
        step = [k]
        for word in sorted(units[k].words):
            dep = module_names.get(word)
            if dep is not None and dep not in taken and dep != k:
                step.append(dep)
        cost = 0
        for m in step:
            taken.add(m)
            cost += units[m].tokens + (MARGIN_TOKENS if units[m].kind != BLOCK_KIND else 0)
            if lean:
                for a in (m, *ancestors(outline, m)):
                    if a not in shown:
                        shown.add(a)
                        cost += units[a].head_tokens + MARKER_TOKENS
        if lean:
            for m in needed_imports(outline, step):
                if m not in imports:
                    imports.add(m)
                    cost += outline.imports[m].tokens
        steps.append(tuple(step))
        labels.append(units[k].label)
        costs.append(cost)
        gains.append(sum(shares[m] for m in step))
    base = outline.opening_tokens if lean else skeleton_tokens
    return FocusPlan(lean, base, tuple(steps), tuple(labels), tuple(costs), tuple(gains))


def focus_files(index: RepoIndex, targets: Sequence[int], ranks: Mapping[int, int], signals: Signals,
                skeleton_tokens: Mapping[int, int]) -> tuple[dict[int, tuple[Focus, ...]], dict[int, float]]:
    """Focused versions of the `targets` (index positions; `ranks`: their 0-based rank) for a question,
    and each target's evidence: its best unit's score over the best of all targets (0 to 1)."""
    from repopack.packing.fit import Focus
    from repopack.packing.lexical import query_weights
    from repopack.packing.rank import path_mentions, query_identifiers

    if signals.empty or not targets:
        return {}, {}
    outlines = index.outlines(targets)
    targets = [i for i in targets if outlines[i].units]
    if not targets:
        return {}, {}
    terms: dict[str, float] = {}
    identifiers: dict[str, float] = {}
    if signals.query:
        bm25 = index.content_bm25
        weights = query_weights(signals.query)
        terms = {t: w * float(bm25.idf[bm25.vocab[t]]) for t, w in weights.items() if t in bm25.vocab}
        identifiers = query_identifiers(signals.query)
    frames = []
    for frame_path, line in signals.frames:
        for i, w in path_mentions(frame_path, index.paths).items():
            if w >= 0.7:
                frames.append((index.paths[i], line))
    query = UnitQuery(terms, identifiers, _group(frames), _group_ranges(signals.hunks))
    outline_list = [outlines[i] for i in targets]
    scores = [score_units(outlines[i], index.paths[i], query) for i in targets]
    spread_along_calls(outline_list, scores, [1.0 / (1 + ranks[i]) for i in targets])
    best = max((max(s, default=0.0) for s in scores), default=0.0)
    evidence = {i: max(s, default=0.0) / best if best > 0 else 0.0 for i, s in zip(targets, scores, strict=True)}
    out: dict[int, tuple[Focus, ...]] = {}
    for i, outline, s in zip(targets, outline_list, scores, strict=True):
        shares = unit_shares(outline, s)
        chains = []
        for lean in (False, True):
            plan = plan_steps(outline, shares, lean, skeleton_tokens.get(i, 0))
            if plan.steps:
                chains.append(Focus(plan.lean, plan.base_tokens, plan.labels, plan.costs, plan.shares,
                                    _renderer(index.files[i].text, outline, plan)))
        out[i] = tuple(chains)
    return out, evidence


def _renderer(text: str, outline: Outline, plan: FocusPlan) -> Callable[[int], str]:
    done: dict[int, str] = {}  # the fitter renders the same version in each of its rounds

    def render(k: int) -> str:
        if k not in done:
            done[k] = focused_text(text, outline, [u for step in plan.steps[:k] for u in step], lean=plan.lean)
        return done[k]

    return render


def _group(frames: Sequence[tuple[str, int]]) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for path, line in frames:
        out.setdefault(path, []).append(line)
    return {p: tuple(v) for p, v in out.items()}


def _group_ranges(hunks: Sequence[tuple[str, int, int]]) -> dict[str, tuple[tuple[int, int], ...]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for path, a, b in hunks:
        out.setdefault(path, []).append((a, b))
    return {p: tuple(v) for p, v in out.items()}
