"""Where a pack's tokens go, and a pack cut into standalone parts.

Each file is charged what its block costs in the rendered prompt (wrapper and body, counted
like the fitter counts them); the header, directory tree and footer are charged once as
overhead.  Blocks end in punctuation plus a newline, so these parts add up to the count of
the whole prompt (`render` relies on this too): directory totals sum to the pack's total.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from repopack.errors import UsageError
from repopack.packing.fit import Packed
from repopack.packing.render import (
    Document,
    FileBlock,
    block_wrapper,
    escape_body,
    render_document,
    render_extra,
    render_footer,
    render_header,
)
from repopack.packing.tokens import Tokenizer


@dataclass(frozen=True)
class TokenMap:
    encoding: str
    total: int  # the exact count of the whole prompt
    overhead: int  # header, directory tree, footer (and git history blocks)
    files: dict[str, int]  # path -> tokens of its block, in prompt order
    content: dict[str, int]  # path -> tokens of its text alone

    def directories(self, depth: int | None = None) -> dict[str, int]:
        """'dir/' -> total of the files below it; `depth` keeps only that many levels."""
        totals: dict[str, int] = defaultdict(int)
        for path, n in self.files.items():
            parts = path.split("/")[:-1]
            for d in range(len(parts)):
                if depth is not None and d >= depth:
                    break
                totals["/".join(parts[: d + 1]) + "/"] += n
        return dict(totals)


def block_costs(doc: Document, tokenizer: Tokenizer) -> list[int]:
    """Tokens of each file block as rendered (wrapper plus escaped body)."""
    wrappers = []
    for b in doc.blocks:
        head, tail = block_wrapper(b, doc.fmt)
        wrappers.append(head + tail)
    wrap = tokenizer.count_many(wrappers)
    changed = [i for i, b in enumerate(doc.blocks) if escape_body(b.body, doc.fmt) != b.body]
    recount = dict(zip(changed, tokenizer.count_many([escape_body(doc.blocks[i].body, doc.fmt) for i in changed]),
                       strict=True))
    return [wrap[i] + recount.get(i, b.tokens) for i, b in enumerate(doc.blocks)]


def token_map(packed: Packed, tokenizer: Tokenizer) -> TokenMap:
    doc = packed.document
    costs = block_costs(doc, tokenizer)
    files = {b.path: n for b, n in zip(doc.blocks, costs, strict=True)}
    overhead = sum(tokenizer.count_many([render_header(doc), render_footer(doc)]))
    return TokenMap(tokenizer.name, packed.tokens, overhead, files, {b.path: b.tokens for b in doc.blocks})


@dataclass(frozen=True)
class Part:
    text: str
    tokens: int
    paths: tuple[str, ...]


def _part_doc(doc: Document, blocks: Sequence[FileBlock], i: int, n: int, with_extras: bool) -> Document:
    return dataclasses.replace(doc, tree_paths=tuple(b.path for b in blocks), unlisted=0, blocks=tuple(blocks),
                               extras=doc.extras if with_extras else (), part=(i, n))


def split_pack(packed: Packed, limit: int, tokenizer: Tokenizer) -> list[Part]:
    """Cut an unbudgeted pack at file boundaries into standalone prompts of at most `limit` tokens,
    files in the order of the single pack; git history blocks go with the last part."""
    doc = packed.document
    costs = block_costs(doc, tokenizer)
    blocks = list(doc.blocks)
    empty = _part_doc(doc, [], 999, 999, with_extras=False)
    base = sum(tokenizer.count_many([render_header(empty), render_footer(empty)]))
    extras = sum(tokenizer.count_many([render_extra(e, doc.fmt) for e in doc.extras]))
    tree_cost = tokenizer.count_many([p.rsplit("/", 1)[-1] + "\n" for p in (b.path for b in blocks)])
    if base + extras > limit:
        raise UsageError(f"--split-output {limit}: a part needs {base + extras} tokens before any file; "
                         f"use a larger limit")
    groups: list[list[int]] = []
    current: list[int] = []
    used = base
    for i, cost in enumerate(costs):
        # Directory lines of the tree are not charged here; the exact count below catches them.
        need = cost + tree_cost[i] + len(blocks[i].path.split("/"))
        if current and used + need > limit:
            groups.append(current)
            current, used = [], base
        current.append(i)
        used += need
    if current or not groups:
        groups.append(current)

    def render(n: int) -> list[tuple[str, int]]:
        out = []
        for k, g in enumerate(groups):
            part = _part_doc(doc, [blocks[i] for i in g], k + 1, n, with_extras=k == len(groups) - 1)
            text = render_document(part)
            out.append((text, tokenizer.count(text)))
        return out

    while True:
        rendered = render(len(groups))
        over = next((k for k, (_t, n) in enumerate(rendered) if n > limit), None)
        if over is None:
            break
        group = groups[over]
        if over == len(groups) - 1 and doc.extras and len(group) == 1 and _fits_alone(doc, limit, tokenizer):
            groups.append([])  # the history blocks move to a part of their own
            continue
        if len(group) <= 1:
            path = blocks[group[0]].path if group else "the git history blocks"
            raise UsageError(f"--split-output {limit}: {path} alone needs {rendered[over][1]} tokens as a part; "
                             f"use a larger limit or --exclude it")
        groups.insert(over + 1, [group.pop()])
    return [Part(text, n, tuple(blocks[i].path for i in g)) for (text, n), g in zip(rendered, groups, strict=True)]


def _fits_alone(doc: Document, limit: int, tokenizer: Tokenizer) -> bool:
    lone = _part_doc(doc, [], 999, 999, with_extras=True)
    return tokenizer.count(render_document(lone)) <= limit
