"""A pack held by the MCP server: pages that fit one tool result, line ranges, regex search.

MCP clients cap what one tool result may hold (Claude Code: 25,000 tokens by default), so a
pack is served in pages of at most `page_tokens` tokens, cut at line boundaries (a single
line longer than a page is cut inside).  The pages, joined, are exactly the pack's text.
Search maps each hit back to the file and the file's own line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import regex

from repopack.errors import UsageError
from repopack.packing.pipeline import PackResult
from repopack.packing.render import block_wrapper, escape_body, render_header
from repopack.packing.tokens import Tokenizer

DEFAULT_PAGE_TOKENS = 10_000
MAX_PAGE_TOKENS = 20_000
GREP_TIMEOUT = 2.0  # seconds for one search: a pathological pattern cannot hang the server
_NUMBERED = re.compile(r"^\s*(\d+)│")


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    first_line: int  # 1-based line of the pack where the page starts
    last_line: int
    text: str
    tokens: int


@dataclass(frozen=True)
class BlockSpan:
    path: str
    mode: str
    body_start: int  # 1-based pack line of the body's first line
    body_lines: int


@dataclass(frozen=True)
class GrepHit:
    path: str | None  # None: outside any file block (header, tree, history)
    file_line: int | None
    pack_line: int
    page: int
    text: str


@dataclass
class StoredPack:
    pack_id: str
    source: str
    result: PackResult
    pages: list[Page]
    spans: list[BlockSpan]
    lines: list[str] = field(repr=False)

    def page_of(self, line: int) -> int:
        for page in self.pages:
            if page.first_line <= line <= page.last_line:
                return page.number
        return self.pages[-1].number


def paginate(text: str, tokenizer: Tokenizer, page_tokens: int) -> list[Page]:
    """Pages of at most `page_tokens` tokens each (exact count), joined they give `text`."""
    lines = text.splitlines(keepends=True) or [""]
    counts = tokenizer.count_many(lines)
    # Lines longer than a page are cut into pieces first (pieces of one line share its number).
    pieces: list[tuple[int, str, int]] = []  # (pack line, text, tokens)
    for number, (line, n) in enumerate(zip(lines, counts, strict=True), 1):
        if n <= page_tokens // 2:
            pieces.append((number, line, n))
            continue
        step = max(1, len(line) * page_tokens // (2 * n))
        chunks = [line[i:i + step] for i in range(0, len(line), step)]
        pieces += [(number, c, k) for c, k in zip(chunks, tokenizer.count_many(chunks), strict=True)]
    target = int(page_tokens * 0.95)
    groups: list[list[tuple[int, str, int]]] = [[]]
    used = 0
    for piece in pieces:
        if groups[-1] and used + piece[2] > target:
            groups.append([])
            used = 0
        groups[-1].append(piece)
        used += piece[2]
    pages: list[Page] = []
    queue = groups
    while queue:
        group = queue.pop(0)
        body = "".join(p[1] for p in group)
        n = tokenizer.count(body)
        if n > page_tokens and len(group) > 1:  # seams merged more than estimated: halve and retry
            half = len(group) // 2
            queue[0:0] = [group[:half], group[half:]]
            continue
        pages.append(Page(len(pages) + 1, group[0][0], group[-1][0], body, n))
    return pages


def block_spans(result: PackResult) -> list[BlockSpan]:
    """Where each file's body sits in the rendered pack (line numbers of the pack)."""
    doc = result.packed.document
    line = render_header(doc).count("\n") + 1
    spans = []
    for block in doc.blocks:
        head, tail = block_wrapper(block, doc.fmt)
        body = escape_body(block.body, doc.fmt)
        line += head.count("\n")
        n = body.count("\n")
        spans.append(BlockSpan(block.path, block.mode, line, n))
        line += n + tail.count("\n")
    return spans


def make_stored(pack_id: str, source: str, result: PackResult, page_tokens: int) -> StoredPack:
    text = result.text
    return StoredPack(pack_id, source, result, paginate(text, result.tokenizer, page_tokens), block_spans(result),
                      text.splitlines())


def read_lines(stored: StoredPack, start: int, end: int | None, page_tokens: int) -> tuple[str, int]:
    """Lines start..end (1-based, inclusive), cut short at `page_tokens`; returns (text, last line given)."""
    total = len(stored.lines)
    if start < 1 or start > total:
        raise UsageError(f"start_line must be between 1 and {total}, got {start}")
    end = total if end is None else min(end, total)
    if end < start:
        raise UsageError(f"end_line ({end}) is before start_line ({start})")
    tok = stored.result.tokenizer
    out: list[str] = []
    used = 0
    last = start - 1
    for number in range(start, end + 1):
        line = stored.lines[number - 1] + "\n"
        n = tok.count(line)
        if out and used + n > page_tokens * 0.95:
            break
        if not out and n > page_tokens * 0.95:
            line = line[: max(1, len(line) * page_tokens // (2 * max(n, 1)))] + " …(line cut)\n"
        out.append(line)
        used += n
        last = number
    return "".join(out), last


def grep(stored: StoredPack, pattern: str, *, ignore_case: bool = False, max_results: int = 100,
         path_glob: str | None = None) -> tuple[list[GrepHit], bool]:
    """Lines of the pack matching `pattern` (Python regex syntax); (hits, truncated)."""
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        raise UsageError(f"not a valid regular expression: {pattern!r} ({exc})") from None
    import fnmatch

    spans = stored.spans
    hits: list[GrepHit] = []
    k = 0
    for number, line in enumerate(stored.lines, 1):
        while k < len(spans) and spans[k].body_start + spans[k].body_lines <= number:
            k += 1
        span = spans[k] if k < len(spans) and spans[k].body_start <= number else None
        if path_glob is not None and (span is None or not fnmatch.fnmatchcase(span.path, path_glob)):
            continue
        try:
            found = compiled.search(line, timeout=GREP_TIMEOUT)
        except TimeoutError:
            raise UsageError(f"the pattern {pattern!r} took too long on one line; simplify it") from None
        if not found:
            continue
        if len(hits) >= max_results:
            return hits, True
        file_line = None
        if span is not None:
            m = _NUMBERED.match(line)
            if m:
                file_line = int(m.group(1))
            elif span.mode == "full":
                file_line = number - span.body_start + 1
        hits.append(GrepHit(span.path if span else None, file_line, number, stored.page_of(number), line))
    return hits, False
