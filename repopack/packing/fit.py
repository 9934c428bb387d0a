"""Fit ranked files into an exact token budget, each at the best fidelity it can afford.

A file goes in `full`, as a `skeleton` (signatures and docstrings, bodies elided), as a
path in the directory tree only, or not at all.  The fitter estimates costs from
per-part token counts, fills in phases (full files for the top of the ranking, skeletons
for the next ones, paths for the rest, then upgrades with what is left), renders, counts
the *rendered text* exactly and downgrades the least relevant items until it fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from repopack.choices import Format, Mode, Order
from repopack.errors import BudgetError
from repopack.packing.render import Document, FileBlock, block_wrapper, render_document
from repopack.packing.tokens import Tokenizer

FULL_SHARE = 0.70  # with skeletons available, full files may take this share of the budget first
SKELETON_SHARE = 0.95  # then skeletons up to this share; paths and upgrades use the rest


@dataclass(frozen=True)
class Candidate:
    """A file the ranker ordered, with the texts the fitter may choose between."""

    path: str
    language: str | None
    full_text: str
    full_tokens: int
    score: float = 0.0
    skeleton_text: str | None = None
    skeleton_tokens: int | None = None


@dataclass(frozen=True)
class Decision:
    path: str
    mode: Mode
    tokens: int  # tokens of the body that went in (0 for path/dropped)
    rank: int  # 0-based position in the ranking


@dataclass(frozen=True)
class Packed:
    text: str
    tokens: int  # exact count of text
    budget: int | None
    document: Document
    decisions: tuple[Decision, ...]

    def by_mode(self, mode: Mode) -> list[Decision]:
        return [d for d in self.decisions if d.mode == mode]


@dataclass
class _Plan:
    modes: list[Mode]
    full_cost: list[int]
    skel_cost: list[int | None]
    path_cost: list[int]

    def cost_of(self, i: int, mode: Mode) -> int:
        if mode == Mode.FULL:
            return self.full_cost[i] + self.path_cost[i]
        if mode == Mode.SKELETON:
            return (self.skel_cost[i] or 0) + self.path_cost[i]
        if mode == Mode.PATH:
            return self.path_cost[i]
        return 0


def _blocks_in_order(cands: Sequence[Candidate], modes: Sequence[Mode], order: Order,
                     body_of: Callable[[int, Mode], str]) -> list[FileBlock]:
    chosen = [i for i, m in enumerate(modes) if m in (Mode.FULL, Mode.SKELETON)]
    if order == "path":
        chosen.sort(key=lambda i: cands[i].path)
    elif order == "relevance-last":
        chosen.reverse()  # the most relevant file ends up right before the question
    blocks = []
    for i in chosen:
        c = cands[i]
        tokens = c.full_tokens if modes[i] == Mode.FULL else (c.skeleton_tokens or 0)
        blocks.append(FileBlock(c.path, modes[i], body_of(i, modes[i]), tokens, c.language))
    return blocks


def make_document(cands: Sequence[Candidate], modes: Sequence[Mode], *, repo_name: str, fmt: Format, order: Order,
                  encoding: str, body_of: Callable[[int, Mode], str], query: str | None = None) -> Document:
    tree = tuple(c.path for c, m in zip(cands, modes, strict=True) if m != Mode.DROPPED)
    unlisted = sum(1 for m in modes if m == Mode.DROPPED)
    blocks = _blocks_in_order(cands, modes, order, body_of)
    return Document(repo_name, fmt, tree, unlisted, tuple(blocks), encoding, query)


def _default_body(cands: Sequence[Candidate]) -> Callable[[int, Mode], str]:
    def body(i: int, mode: Mode) -> str:
        c = cands[i]
        return c.full_text if mode == Mode.FULL else (c.skeleton_text or "")

    return body


def fit_files(cands: Sequence[Candidate], budget: int | None, tokenizer: Tokenizer, *, repo_name: str,
              fmt: Format = Format.XML, order: Order = Order.RELEVANCE_LAST, query: str | None = None,
              body_of: Callable[[int, Mode], str] | None = None) -> Packed:
    """Choose a mode per candidate (best first) so the rendered text has at most `budget` tokens."""
    body_of = body_of or _default_body(cands)

    def build(modes: Sequence[Mode]) -> Document:
        return make_document(cands, modes, repo_name=repo_name, fmt=fmt, order=order,
                             encoding=tokenizer.name, body_of=body_of, query=query)

    if budget is None:
        modes = [Mode.FULL] * len(cands)
        doc = build(modes)
        text = render_document(doc)
        return Packed(text, _count_document(doc, text, tokenizer), None, doc,
                      _decisions(cands, modes))

    plan = _estimate(cands, tokenizer, fmt)
    fixed = tokenizer.count(render_document(build([Mode.DROPPED] * len(cands))))
    if fixed > budget:
        raise BudgetError(f"a budget of {budget} tokens cannot hold even the prompt header ({fixed} tokens); "
                          f"use --budget {fixed + 500} or more")
    _fill(plan, budget - fixed, has_skeletons=any(c.skeleton_text for c in cands))
    return _shrink_to_fit(plan, budget, build, tokenizer, cands)


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
    return sum(tokenizer.count_many(wrappers)) + bodies


def _estimate(cands: Sequence[Candidate], tokenizer: Tokenizer, fmt: Format) -> _Plan:
    wrappers: list[str] = []
    for c in cands:
        for mode, tokens in ((Mode.FULL, c.full_tokens), (Mode.SKELETON, c.skeleton_tokens or 0)):
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
    full_cost = [c.full_tokens + wrap_tokens[2 * i] + 1 for i, c in enumerate(cands)]
    skel_cost: list[int | None] = [
        ((c.skeleton_tokens or 0) + wrap_tokens[2 * i + 1] + 1) if c.skeleton_text else None
        for i, c in enumerate(cands)
    ]
    return _Plan([Mode.DROPPED] * len(cands), full_cost, skel_cost, path_tokens)


def _fill(plan: _Plan, room: int, has_skeletons: bool) -> None:
    n = len(plan.modes)
    used = 0

    def try_set(i: int, mode: Mode, limit: float) -> bool:
        nonlocal used
        delta = plan.cost_of(i, mode) - plan.cost_of(i, plan.modes[i])
        if used + delta <= limit:
            plan.modes[i] = mode
            used += delta
            return True
        return False

    full_limit = room * FULL_SHARE if has_skeletons else room
    for i in range(n):
        try_set(i, Mode.FULL, full_limit)
    if has_skeletons:
        for i in range(n):
            if plan.modes[i] == Mode.DROPPED and plan.skel_cost[i] is not None:
                try_set(i, Mode.SKELETON, room * SKELETON_SHARE)
    for i in range(n):
        if plan.modes[i] == Mode.DROPPED:
            try_set(i, Mode.PATH, room)
    # Upgrades with whatever is left, most relevant first.
    for i in range(n):
        if plan.modes[i] in (Mode.SKELETON, Mode.PATH):
            if not try_set(i, Mode.FULL, room) and plan.modes[i] == Mode.PATH and plan.skel_cost[i] is not None:
                try_set(i, Mode.SKELETON, room)


def _downgrade_order(plan: _Plan) -> list[int]:
    """Least relevant first; path-only entries go before skeletons before full files."""
    rank = {Mode.PATH: 0, Mode.SKELETON: 1, Mode.FULL: 2}
    idx = [i for i, m in enumerate(plan.modes) if m in rank]
    return sorted(idx, key=lambda i: (rank[plan.modes[i]], -i))


def _step_down(plan: _Plan, i: int) -> None:
    mode = plan.modes[i]
    if mode == Mode.FULL and plan.skel_cost[i] is not None:
        plan.modes[i] = Mode.SKELETON
    elif mode in (Mode.FULL, Mode.SKELETON):
        plan.modes[i] = Mode.PATH
    else:
        plan.modes[i] = Mode.DROPPED


def _shrink_to_fit(plan: _Plan, budget: int, build: Callable[[Sequence[Mode]], Document], tokenizer: Tokenizer,
                   cands: Sequence[Candidate]) -> Packed:
    while True:
        doc = build(plan.modes)
        text = render_document(doc)
        total = tokenizer.count(text)
        if total <= budget:
            return Packed(text, total, budget, doc, _decisions(cands, plan.modes))
        over = total - budget
        # Free at least the overshoot in one pass, cheapest-to-lose first.
        freed = 0
        for i in _downgrade_order(plan):
            before = plan.cost_of(i, plan.modes[i])
            _step_down(plan, i)
            freed += before - plan.cost_of(i, plan.modes[i])
            if freed > over:
                break
        else:
            if all(m == Mode.DROPPED for m in plan.modes):
                raise BudgetError(f"a budget of {budget} tokens cannot hold the prompt header")


def _decisions(cands: Sequence[Candidate], modes: Sequence[Mode]) -> tuple[Decision, ...]:
    out = []
    for i, (c, m) in enumerate(zip(cands, modes, strict=True)):
        tokens = c.full_tokens if m == Mode.FULL else (c.skeleton_tokens or 0) if m == Mode.SKELETON else 0
        out.append(Decision(c.path, m, tokens, i))
    return tuple(out)
