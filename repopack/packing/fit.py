"""Fit ranked files into an exact token budget, each at the best fidelity it can afford.

A file goes in `full`, `focused` (its skeleton with the definitions that matter for the
question whole), as a `skeleton` (signatures and docstrings, bodies elided), as a path in
the directory tree only, or not at all.  Every option has an estimated cost (per-part token
counts) and an expected value (the ranking's confidence in the file times the share of it
the option shows); the budget goes to the upgrades with the most value per token, the
directory tree included, with no fixed share for any fidelity.  Then the *rendered text* is
counted exactly: the least valuable upgrades are undone while it is over, and spare room
estimates left is offered again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from repopack.choices import Format, Mode, Order
from repopack.errors import BudgetError
from repopack.packing.render import Document, FileBlock, block_wrapper, render_document
from repopack.packing.tokens import Tokenizer
from repopack.util.lazy import lazy_fields

BLOCK_MODES = (Mode.FULL, Mode.FOCUSED, Mode.SKELETON)  # the modes that put a file's text in the prompt

# Expected usefulness of a file at each fidelity, as a share of its value (the ranking's confidence).
PATH_VALUE = 0.01  # the model knows the file exists
SKELETON_VALUE = 0.15  # signatures and docs: where things are, and the edited line when it is a signature
LEAN_VALUE = 0.03  # a lean focused file before its definitions: the file's opening lines
COVERAGE_WEIGHT = 0.3  # a focused file's value by how much of it is shown; the rest by its definitions' shares
FOCUS_CAP = 0.9  # a focused file shows at most this share of what the whole file shows (context is lost)
EXACT_WRAPPERS = 400  # block wrappers counted exactly for this many of the best-ranked files
MAX_FOCUS_STEPS = 48  # definitions one focused file may expand, best first (beyond that, full is the step)


@dataclass(frozen=True)
class Focus:
    """Focused versions of one file in one shape: a base text plus the first k expansion steps, best first.

    Wide: the skeleton with bodies added; lean: little but the chosen definitions (see `focus`).
    """

    lean: bool
    base_tokens: int  # tokens before any step (wide: the skeleton)
    labels: tuple[str, ...]  # name of the definition each step expands
    costs: tuple[int, ...]  # tokens each step adds (estimated)
    shares: tuple[float, ...]  # share of the file's relevant lines each step is expected to show
    render: Callable[[int], str] = field(compare=False, repr=False)  # text with the first k steps expanded


@lazy_fields("full_text")
@dataclass(frozen=True)
class Candidate:
    """A file the ranker ordered, with the texts the fitter may choose between (`full_text` may be
    deferred, see util.lazy: most candidates of a big repository never go in whole, so are never read)."""

    path: str
    language: str | None
    full_text: str
    full_tokens: int
    score: float = 0.0
    skeleton_text: str | None = None
    skeleton_tokens: int | None = None
    value: float | None = None  # how likely the question needs this file; None: from its rank
    focus: tuple[Focus, ...] = ()  # focused versions


@dataclass(frozen=True)
class Decision:
    path: str
    mode: Mode
    tokens: int  # tokens of the body that went in (0 for path/dropped)
    rank: int  # 0-based position in the ranking
    focused: tuple[str, ...] = ()  # the definitions a focused file shows whole


@dataclass(frozen=True)
class Packed:
    text: str
    tokens: int  # exact count of text
    budget: int | None
    document: Document
    decisions: tuple[Decision, ...]
    header_tokens: int = 0  # the rendered prompt with every file left out, counted exactly (budgeted packs)
    first_file_tokens: int = 0  # about what the top-ranked file costs at its smallest fidelity with text

    @property
    def empty(self) -> bool:
        """No file's text is in the prompt although there were files to pack."""
        return bool(self.decisions) and not any(d.mode in BLOCK_MODES for d in self.decisions)

    @property
    def useful_budget(self) -> int:
        """The smallest budget that holds the header and the top-ranked file (an estimate for the file)."""
        return self.header_tokens + self.first_file_tokens

    def by_mode(self, mode: Mode) -> list[Decision]:
        return [d for d in self.decisions if d.mode == mode]


class _State(NamedTuple):  # a tuple, not a dataclass: the fitter makes one per option of every file
    mode: Mode
    steps: int  # focus steps expanded (focused mode only)
    chain: int  # which of the candidate's Focus shapes (focused mode only)
    cost: int  # estimated tokens, tree line and block wrapper included
    value: float


@dataclass
class _Plan:
    states: list[list[_State]]  # per candidate, its possible states; index 0 is dropped
    at: list[int] = field(default_factory=list)  # current state per candidate
    history: list[list[int]] = field(default_factory=list)  # states each candidate went through

    def __post_init__(self) -> None:
        self.at = [0] * len(self.states)
        self.history = [[] for _ in self.states]

    def state(self, i: int) -> _State:
        return self.states[i][self.at[i]]

    @property
    def used(self) -> int:
        return sum(self.state(i).cost for i in range(len(self.states)))

    def move(self, i: int, j: int) -> None:
        self.history[i].append(self.at[i])
        self.at[i] = j

    def back(self, i: int) -> None:
        self.at[i] = self.history[i].pop() if self.history[i] else 0


def _blocks_in_order(cands: Sequence[Candidate], plan: _Plan, order: Order,
                     body_of: Callable[[int, Mode], str]) -> list[FileBlock]:
    chosen = [i for i in range(len(cands)) if plan.state(i).mode in BLOCK_MODES]
    if order == "path":
        chosen.sort(key=lambda i: cands[i].path)
    elif order == "relevance-last":
        chosen.reverse()  # the most relevant file ends up right before the question
    blocks = []
    for i in chosen:
        c, st = cands[i], plan.state(i)
        if st.mode == Mode.FOCUSED:
            focus = c.focus[st.chain]
            body = focus.render(st.steps)
            tokens = focus.base_tokens + sum(focus.costs[: st.steps])
        else:
            body = body_of(i, st.mode)
            tokens = c.full_tokens if st.mode == Mode.FULL else (c.skeleton_tokens or 0)
        blocks.append(FileBlock(c.path, st.mode, body, tokens, c.language))
    return blocks


def make_document(cands: Sequence[Candidate], plan: _Plan, *, repo_name: str, fmt: Format, order: Order,
                  encoding: str, body_of: Callable[[int, Mode], str], query: str | None = None) -> Document:
    modes = [plan.state(i).mode for i in range(len(cands))]
    tree = tuple(c.path for c, m in zip(cands, modes, strict=True) if m != Mode.DROPPED)
    unlisted = sum(1 for m in modes if m == Mode.DROPPED)
    blocks = _blocks_in_order(cands, plan, order, body_of)
    return Document(repo_name, fmt, tree, unlisted, tuple(blocks), encoding, query)


def _default_body(cands: Sequence[Candidate]) -> Callable[[int, Mode], str]:
    def body(i: int, mode: Mode) -> str:
        c = cands[i]
        return c.full_text if mode == Mode.FULL else (c.skeleton_text or "")

    return body


def fit_files(cands: Sequence[Candidate], budget: int | None, tokenizer: Tokenizer, *, repo_name: str,
              fmt: Format = Format.XML, order: Order = Order.RELEVANCE_LAST, query: str | None = None,
              body_of: Callable[[int, Mode], str] | None = None) -> Packed:
    """Choose a fidelity per candidate (best first) so the rendered text has at most `budget` tokens.

    Each file can be dropped, listed by path, or go in as a skeleton, focused (skeleton plus
    its k most relevant definitions whole) or full.  The budget goes, step by step, to the
    upgrade with the most expected value per token (value: the ranking's confidence in the
    file times the share of it an upgrade shows), the directory tree included.
    """
    body_of = body_of or _default_body(cands)

    def build(plan: _Plan) -> Document:
        return make_document(cands, plan, repo_name=repo_name, fmt=fmt, order=order,
                             encoding=tokenizer.name, body_of=body_of, query=query)

    if budget is None:
        plan = _Plan([[_State(Mode.FULL, 0, 0, 0, 1.0)] for _ in cands])
        doc = build(plan)
        text = render_document(doc)
        return Packed(text, _count_document(doc, text, tokenizer), None, doc, _decisions(cands, plan))

    plan = _estimate(cands, tokenizer, fmt)
    fixed = tokenizer.count(render_document(build(plan)))  # the real header: every file left out
    first = min((s.cost for s in plan.states[0] if s.mode in BLOCK_MODES), default=0) if cands else 0
    if fixed > budget:
        useful = f"; about {fixed + first} holds the top-ranked file too" if first else ""
        raise BudgetError(f"a budget of {budget} tokens cannot hold even the prompt header ({fixed} tokens): "
                          f"use --budget {fixed} or more{useful}")
    packed = _fit_exactly(plan, budget, fixed, build, tokenizer, cands)
    return replace(packed, header_tokens=fixed, first_file_tokens=first)


def _fit_exactly(plan: _Plan, budget: int, fixed: int, build: Callable[[_Plan], Document], tokenizer: Tokenizer,
                 cands: Sequence[Candidate]) -> Packed:
    """Fill by estimates, count the rendered text exactly, shrink while over and top up while room is left."""
    room = budget - fixed
    best: tuple[str, int, Document] | None = None
    for _round in range(4):
        _fill(plan, room)
        while True:
            doc = build(plan)
            text = render_document(doc)
            total = tokenizer.count(text)
            if total <= budget:
                break
            _shrink(plan, total - budget)
        best = (text, total, doc)
        spare = budget - total
        if spare < 16:
            break
        room = plan.used + spare  # estimates were high: offer what is really left
    assert best is not None
    text, total, doc = best
    return Packed(text, total, budget, doc, _decisions(cands, plan))


def _count_document(doc: Document, text: str, tokenizer: Tokenizer) -> int:
    """Exact for prompts of ordinary size; for huge unbudgeted packs, the sum of the parts.

    Block wrappers end in punctuation plus newline, which BPE pre-tokenisation almost never merges
    with what follows, so header, wrappers and bodies add up to the whole within a few tokens per
    million (exactly on the fixtures; 1 token in 9.2M on Django).  Summing known body counts saves
    re-tokenising tens of MB; a budgeted pack is always counted exactly.
    """
    if len(text) < 2_000_000:
        return tokenizer.count(text)
    from repopack.packing.render import escape_body, render_footer, render_header

    wrappers = [render_header(doc), render_footer(doc)]
    for b in doc.blocks:
        head, tail = block_wrapper(b, doc.fmt)
        wrappers.append(head + tail)
    bodies = 0
    for b in doc.blocks:
        escaped = escape_body(b.body, doc.fmt)
        bodies += b.tokens if escaped == b.body else tokenizer.count(escaped)
    return tokenizer.count("".join(wrappers)) + bodies  # one call: each wrapper ends in a newline, so the sum holds


def _estimate(cands: Sequence[Candidate], tokenizer: Tokenizer, fmt: Format) -> _Plan:
    wrappers: list[str] = []
    for c in cands[:EXACT_WRAPPERS]:
        for mode, tokens in ((Mode.FULL, c.full_tokens), (Mode.FOCUSED, c.skeleton_tokens or 0)):
            head, tail = block_wrapper(FileBlock(c.path, mode, "", tokens, c.language), fmt)
            wrappers.append(head + tail)
    wrap_tokens = tokenizer.count_many(wrappers)
    # A path in the tree costs about its leaf name and indent; directory lines are shared, so
    # charge each file for the directory lines it is first to need.
    seen_dirs: set[str] = set()
    path_lines: list[str] = []
    for c in cands:
        parts = c.path.split("/")
        line = "  " * (len(parts) - 1) + parts[-1] + "\n"
        for depth in range(len(parts) - 1):
            d = "/".join(parts[: depth + 1])
            if d not in seen_dirs:
                seen_dirs.add(d)
                line += "  " * depth + parts[depth] + "/\n"
        path_lines.append(line)
    path_tokens = tokenizer.count_many(path_lines)
    # Far down the ranking a file rarely gets a block: estimate its wrapper instead of counting it.
    for c in cands[EXACT_WRAPPERS:]:
        wrap_tokens.extend((len(c.path) // 3 + 18,) * 2)
    values = _values(cands)
    states: list[list[_State]] = []
    for i, c in enumerate(cands):
        v, path = values[i], path_tokens[i]
        own = [_State(Mode.DROPPED, 0, 0, 0, 0.0), _State(Mode.PATH, 0, 0, path, PATH_VALUE * v)]
        wrapper = wrap_tokens[2 * i + 1] + 1 + path
        if c.skeleton_text is not None:
            own.append(_State(Mode.SKELETON, 0, 0, (c.skeleton_tokens or 0) + wrapper, SKELETON_VALUE * v))
        for chain, focus in enumerate(c.focus):
            base = LEAN_VALUE if focus.lean else SKELETON_VALUE
            cost, share = focus.base_tokens + wrapper, 0.0
            steps = list(zip(focus.costs, focus.shares, strict=True))[:MAX_FOCUS_STEPS]
            shown = focus.base_tokens
            for k, (step, gain) in enumerate(steps):
                cost, share, shown = cost + step, share + gain, shown + step
                # Fixes often touch several places: part of the value goes by how much of the file is shown.
                coverage = min(1.0, shown / max(c.full_tokens, 1))
                seen = (1 - COVERAGE_WEIGHT) * min(share, 1.0) + COVERAGE_WEIGHT * coverage
                value = v * (base + (1 - base) * seen * FOCUS_CAP)
                own.append(_State(Mode.FOCUSED, k + 1, chain, cost, value))
        own.append(_State(Mode.FULL, 0, 0, c.full_tokens + wrap_tokens[2 * i] + 1 + path, v))
        states.append(own)
    return _Plan(states)


def _values(cands: Sequence[Candidate]) -> list[float]:
    """Each file's value: given by the caller, else falling with its rank."""
    return [c.value if c.value is not None else 1.0 / (1 + i) for i, c in enumerate(cands)]


def _best_move(plan: _Plan, i: int, room: int) -> tuple[float, int] | None:
    """The upgrade of candidate i with the most value per token that fits in `room` more tokens."""
    now = plan.state(i)
    best: tuple[float, int] | None = None
    for j, st in enumerate(plan.states[i]):
        gain, extra = st.value - now.value, st.cost - now.cost
        if gain <= 0 or extra > room:
            continue
        rate = gain / extra if extra > 0 else math.inf
        if best is None or rate > best[0]:
            best = (rate, j)
    return best


def _fill(plan: _Plan, room: int) -> None:
    """Greedy by value per token (lazy heap): the classic approximation for this multiple-choice knapsack."""
    left = room - plan.used
    heap: list[tuple[float, int, int, int]] = []
    version = [0] * len(plan.states)
    for i in range(len(plan.states)):
        move = _best_move(plan, i, left)
        if move is not None:
            heapq.heappush(heap, (-move[0], i, move[1], 0))
    while heap:
        _rate, i, j, ver = heapq.heappop(heap)
        if ver != version[i]:
            continue
        extra = plan.states[i][j].cost - plan.state(i).cost
        if extra > left:
            move = _best_move(plan, i, left)  # the room shrank since: find what still fits
            if move is not None:
                heapq.heappush(heap, (-move[0], i, move[1], ver))
            continue
        plan.move(i, j)
        left -= extra
        version[i] += 1
        move = _best_move(plan, i, left)
        if move is not None:
            heapq.heappush(heap, (-move[0], i, move[1], version[i]))


def _shrink(plan: _Plan, over: int) -> None:
    """Undo the least valuable upgrades (per token) until about `over` tokens are freed."""
    freed = 0
    while freed < over:
        worst: tuple[float, int] | None = None
        for i in range(len(plan.states)):
            if plan.at[i] == 0:
                continue
            now = plan.state(i)
            prev = plan.states[i][plan.history[i][-1]] if plan.history[i] else plan.states[i][0]
            extra = now.cost - prev.cost
            rate = (now.value - prev.value) / extra if extra > 0 else math.inf
            if worst is None or rate < worst[0] or (rate == worst[0] and i > worst[1]):
                worst = (rate, i)
        if worst is None:
            raise BudgetError("the budget cannot hold the prompt header")
        i = worst[1]
        before = plan.state(i).cost
        plan.back(i)
        freed += max(1, before - plan.state(i).cost)


def _decisions(cands: Sequence[Candidate], plan: _Plan) -> tuple[Decision, ...]:
    out = []
    for i, c in enumerate(cands):
        st = plan.state(i)
        labels: tuple[str, ...] = ()
        if st.mode == Mode.FULL:
            tokens = c.full_tokens
        elif st.mode == Mode.SKELETON:
            tokens = c.skeleton_tokens or 0
        elif st.mode == Mode.FOCUSED:
            focus = c.focus[st.chain]
            tokens = focus.base_tokens + sum(focus.costs[: st.steps])
            labels = tuple(dict.fromkeys(focus.labels[: st.steps]))
        else:
            tokens = 0
        out.append(Decision(c.path, st.mode, tokens, i, labels))
    return tuple(out)
