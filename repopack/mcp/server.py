"""`repopack mcp`: the pack, rank, map and explain jobs as MCP tools for agents and editors.

Built on the official MCP Python SDK (`MCPServer`).  A pack is kept in memory under an id and
read back page by page (`read_pack`) or searched (`grep_pack`), because clients cap one tool
result (Claude Code: 25,000 tokens).  Errors are tool errors carrying the same one line the
CLI prints.  The trust model is the CLI's: repository config shapes the pack and nothing
else, secrets are always redacted (no tool can turn that off), nothing is written into a
repository, and local paths must lie inside the directories the user allowed when starting
the server (default: the directory it started in).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent
from pydantic import Field

from repopack import __version__
from repopack.errors import RepopackError, UsageError
from repopack.mcp.pages import DEFAULT_PAGE_TOKENS, MAX_PAGE_TOKENS, StoredPack, grep, make_stored, read_lines

MAX_PACKS = 16

INSTRUCTIONS = (
    "repopack packs a repository (a local directory or a git URL / github:OWNER/REPO) into one prompt, "
    "ranked for a question and cut to a token budget, with secrets redacted. Call `pack` first (give a "
    "`query` and a `budget` for a focused pack); it returns a pack id, a summary and page 1. Read further "
    "pages with `read_pack`, search with `grep_pack`. `rank` lists the files a question needs, `map` "
    "gives signatures and docstrings of the whole repository, `explain` says why each file of a pack is in it."
)


PathArg = Annotated[str, Field(description="A local repository directory (inside the allowed directories), "
                                         "or a remote one: https://github.com/OWNER/REPO, github:OWNER/REPO"
                                         "[@REF], or any git URL (https, ssh, git, file).")]
Ref = Annotated[str | None, Field(description="Branch, tag or commit of a remote repository (default: "
                                              "its default branch).")]
Query = Annotated[str | None, Field(description="The question or task; files are ranked for it.")]
Focus = Annotated[list[str] | None, Field(description="Repository-relative paths of files that matter most.")]



@dataclasses.dataclass
class ServerConfig:
    allowed_roots: tuple[Path, ...]
    page_tokens: int = DEFAULT_PAGE_TOKENS


class PackStore:
    """The last MAX_PACKS packs, by id (thread-safe: tools may run in worker threads)."""

    def __init__(self) -> None:
        self._packs: OrderedDict[str, StoredPack] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, make: Callable[[str], StoredPack]) -> StoredPack:
        pack_id = "p" + secrets.token_hex(4)
        stored = make(pack_id)
        with self._lock:
            self._packs[pack_id] = stored
            while len(self._packs) > MAX_PACKS:
                self._packs.popitem(last=False)
        return stored

    def get(self, pack_id: str) -> StoredPack:
        with self._lock:
            stored = self._packs.get(pack_id.strip())
        if stored is None:
            raise UsageError(f"no pack with id {pack_id!r} (packs are kept for this session only, the last "
                             f"{MAX_PACKS}); call pack first")
        return stored


def _one_line(exc: RepopackError) -> str:
    from repopack.util.fmt import error_line

    return error_line(exc)


def _guard(fn: Callable[[], str]) -> CallToolResult:
    """The tool's text, or for a core error a tool error whose text is the CLI's one-line message."""
    try:
        text = fn()
    except RepopackError as exc:
        return CallToolResult(content=[TextContent(type="text", text=_one_line(exc))], is_error=True)
    return CallToolResult(content=[TextContent(type="text", text=text)])


def _check_allowed(local: Path, shown: str, config: ServerConfig) -> Path:
    resolved = local.expanduser()
    if not resolved.is_absolute():
        resolved = config.allowed_roots[0] / resolved
    resolved = resolved.resolve()
    if not any(resolved == r or r in resolved.parents for r in config.allowed_roots):
        allowed = ", ".join(str(r) for r in config.allowed_roots)
        raise UsageError(f"{shown} is outside the directories this server may read ({allowed}); "
                         f"start it with --allow DIR to add one")
    return resolved


def _local_root(path: str, ref: str | None, config: ServerConfig, depth: int = 1) -> Path:
    """The directory to pack: an allowed local one, or the checkout of a remote repository
    (a file:// URL is a local path too, and must be allowed like one)."""
    import urllib.parse

    from repopack.packing.remote import parse_remote, resolve_source

    spec = parse_remote(path)
    if spec is None:
        if ref is not None:
            raise UsageError("ref is for remote repositories (a URL or github:OWNER/REPO)")
        return _check_allowed(Path(path), path, config)
    if spec.url.lower().startswith("file:"):
        _check_allowed(Path(urllib.parse.unquote(urllib.parse.urlsplit(spec.url).path)), spec.display, config)
    root, _checkout = resolve_source(path, ref, depth=depth)
    return root


def _budget(value: int | str | None) -> int | None:
    from repopack.config import parse_budget

    return None if value is None else parse_budget(str(value))


def _page_header(stored: StoredPack, number: int) -> str:
    page = stored.pages[number - 1]
    return (f"[pack {stored.pack_id}: page {number} of {len(stored.pages)}, pack lines {page.first_line}-"
            f"{page.last_line} of {len(stored.lines)}, {page.tokens:,} tokens]\n")


def summary_text(stored: StoredPack) -> str:
    from repopack.cli.pack import summary_line

    result = stored.result
    lines = [f"pack_id: {stored.pack_id}", f"source: {stored.source}",
             summary_line(result, "memory").replace(" → memory", ""),
             f"pages: {len(stored.pages)} (at most {max(p.tokens for p in stored.pages):,} tokens each); "
             f"lines: {len(stored.lines)}"]
    skipped = result.walk.skipped
    if skipped:
        from collections import Counter

        reasons = Counter(s.reason for s in skipped)
        lines.append(f"skipped {len(skipped)}: " + ", ".join(f"{n} {r}" for r, n in reasons.most_common()))
    if result.findings:
        lines.append(f"secrets redacted: {len(result.findings)} (" + ", ".join(
            f"{f.path}:{f.line}" for f in result.findings[:5]) + (" …" if len(result.findings) > 5 else "") + ")")
    return "\n".join(lines) + "\n"


def build_server(config: ServerConfig) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("repopack", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    store = PackStore()
    page_tokens = min(config.page_tokens, MAX_PAGE_TOKENS)

    @server.tool(description="Pack a repository into one prompt, ranked for `query` and cut to `budget` tokens "
                 "(secrets redacted). Returns a pack id, a summary and the first page; read the other pages "
                 "with read_pack and search the pack with grep_pack.")
    def pack(path: PathArg, query: Query = None, focus: Focus = None,
             budget: Annotated[int | str | None, Field(description="Token budget for the whole prompt, e.g. "
                                                       "32000 or '32k'; none: every file in full.")] = None,
             format: Annotated[str, Field(description="xml (default), markdown or plain.")] = "xml",  # noqa: A002
             ref: Ref = None,
             include: Annotated[list[str] | None, Field(description="Only files matching these "
                                                        "gitignore-style globs.")] = None,
             exclude: Annotated[list[str] | None, Field(description="Leave out files matching these "
                                                        "globs.")] = None,
             include_diff: Annotated[str | None, Field(description="Add a git diff block: '' for uncommitted "
                                                       "changes, or a ref for REF...HEAD.")] = None,
             include_log: Annotated[int | None, Field(description="Add the last N commits as a block.",
                                                      ge=1, le=200)] = None) -> CallToolResult:
        def run() -> str:
            from repopack.choices import Format, values
            from repopack.cli.common import settings_for
            from repopack.packing.history import HistoryRequest
            from repopack.packing.pipeline import pack_repo
            from repopack.packing.rank import Signals

            if format not in values(Format):
                raise UsageError(f"format must be one of {', '.join(values(Format))}, got {format!r}")
            root = _local_root(path, ref, config, depth=include_log or 1)
            flags = {"budget": _budget(budget), "format": format, "include": tuple(include or ()),
                     "exclude": tuple(exclude or ())}
            root, settings = settings_for(str(root), flags)
            result = pack_repo(root, settings, Signals(query=query, focus=tuple(focus or ())),
                               history=HistoryRequest(diff=include_diff, log=include_log))
            stored = store.add(lambda pid: make_stored(pid, _display(path, ref), result, page_tokens))
            return summary_text(stored) + "\n" + _page_header(stored, 1) + stored.pages[0].text

        return _guard(run)

    @server.tool(description="Read a pack made by `pack`: one page (1-based), or a range of its lines. "
                 "Each result stays well under 25,000 tokens; the pages joined are exactly the pack.")
    def read_pack(pack_id: Annotated[str, Field(description="The id `pack` returned.")],
                  page: Annotated[int | None, Field(description="Page number, from 1.", ge=1)] = None,
                  start_line: Annotated[int | None, Field(description="First pack line to read (1-based); "
                                                          "instead of page.", ge=1)] = None,
                  end_line: Annotated[int | None, Field(description="Last pack line to read (inclusive); the "
                                                        "result is cut short at the page size.", ge=1)] = None
                  ) -> CallToolResult:
        def run() -> str:
            stored = store.get(pack_id)
            if start_line is not None or end_line is not None:
                if page is not None:
                    raise UsageError("give page or start_line/end_line, not both")
                text, last = read_lines(stored, start_line or 1, end_line, page_tokens)
                more = f"; continue with start_line={last + 1}" if last < len(stored.lines) else ""
                return (f"[pack {stored.pack_id}: lines {start_line or 1}-{last} of {len(stored.lines)}{more}]\n"
                        + text)
            number = page or 1
            if number > len(stored.pages):
                raise UsageError(f"pack {stored.pack_id} has {len(stored.pages)} pages, not {number}")
            return _page_header(stored, number) + stored.pages[number - 1].text

        return _guard(run)

    @server.tool(description="Search a pack with a regular expression (Python syntax); one result per matching "
                 "line as path:line: text, with the pack line and page to read around it.")
    def grep_pack(pack_id: Annotated[str, Field(description="The id `pack` returned.")],
                  pattern: Annotated[str, Field(description="Regular expression, e.g. 'def \\\\w+_total' or "
                                                "'class Invoice'.")],
                  ignore_case: Annotated[bool, Field(description="Match regardless of case.")] = False,
                  path_glob: Annotated[str | None, Field(description="Only files whose path matches this "
                                                         "glob, e.g. 'src/*.py'.")] = None,
                  max_results: Annotated[int, Field(description="At most this many results.", ge=1,
                                                    le=1000)] = 100) -> CallToolResult:
        def run() -> str:
            stored = store.get(pack_id)
            hits, truncated = grep(stored, pattern, ignore_case=ignore_case, max_results=max_results,
                                   path_glob=path_glob)
            if not hits:
                return f"no match for {pattern!r} in pack {stored.pack_id}\n"
            out = []
            for h in hits:
                where = f"{h.path}:{h.file_line}" if h.path and h.file_line else (h.path or "(pack)")
                out.append(f"{where}: {h.text.strip()[:300]}  [pack line {h.pack_line}, page {h.page}]")
            if truncated:
                out.append(f"… more than {max_results} matches; narrow the pattern or raise max_results")
            return "\n".join(out) + "\n"

        return _guard(run)

    @server.tool(description="Rank the files of a repository for a question: best first, with score and the "
                 "signals behind it (question words, names, mentions, graph neighbours, recent changes).")
    def rank(path: PathArg, query: Query = None, focus: Focus = None, ref: Ref = None,
             diff: Annotated[str | None, Field(description="Rank for the changes since this git ref "
                                               "(HEAD: uncommitted).")] = None,
             limit: Annotated[int, Field(description="At most this many files.", ge=1, le=500)] = 20
             ) -> CallToolResult:
        def run() -> str:
            from repopack.cli.common import settings_for
            from repopack.packing.manifest import _SIGNAL_WORDS
            from repopack.packing.pipeline import rank_repo
            from repopack.packing.rank import Signals

            if not query and not focus and not diff:
                raise UsageError("rank needs a query, focus files or a diff ref")
            root = _local_root(path, ref, config)
            root, settings = settings_for(str(root), {})
            ranking = rank_repo(root, settings, Signals(query=query, focus=tuple(focus or ())), diff)[:limit]
            lines = []
            for r in ranking:
                top = sorted(((v, k) for k, v in r.signals.items() if v > 0.005), reverse=True)[:3]
                why = "; ".join(_SIGNAL_WORDS.get(k, k) for _, k in top) or "structure"
                lines.append(f"{r.score:.4f}  {r.path}  ({why})")
            return "\n".join(lines) + "\n"

        return _guard(run)

    @server.tool(name="map", description="The skeleton map of a repository: signatures and docstrings of its "
                 "files, the most central first, within `budget` tokens (at most the page size).")
    def repo_map(path: PathArg, ref: Ref = None,
                 budget: Annotated[int | str | None, Field(description="Tokens, e.g. 8000 or '8k' (default and "
                                                           "maximum: the page size).")] = None) -> CallToolResult:
        def run() -> str:
            from repopack.cli.common import settings_for
            from repopack.packing.repomap import skeleton_map

            root = _local_root(path, ref, config)
            root, settings = settings_for(str(root), {})
            tokens = min(_budget(budget) or page_tokens, page_tokens)
            return str(skeleton_map(root, settings, tokens))

        return _guard(run)

    @server.tool(description="Why each file of a pack is in it, at which fidelity (full, skeleton, path), or why "
                 "it was left out; long explanations come in pages.")
    def explain(pack_id: Annotated[str, Field(description="The id `pack` returned.")],
                page: Annotated[int, Field(description="Page of the explanation, from 1.", ge=1)] = 1
                ) -> CallToolResult:
        def run() -> str:
            from repopack.mcp.pages import paginate
            from repopack.packing.manifest import explain_lines

            stored = store.get(pack_id)
            text = "\n".join(explain_lines(stored.result)) + "\n"
            pages = paginate(text, stored.result.tokenizer, page_tokens)
            if page > len(pages):
                raise UsageError(f"the explanation of pack {stored.pack_id} has {len(pages)} pages, not {page}")
            head = f"[explain {stored.pack_id}: page {page} of {len(pages)}]\n" if len(pages) > 1 else ""
            return head + pages[page - 1].text

        return _guard(run)

    return server


def _display(path: str, ref: str | None) -> str:
    from repopack.packing.remote import parse_remote

    try:
        spec = parse_remote(path)
    except RepopackError:
        spec = None
    shown = spec.display if spec is not None else path
    return shown + (f" @ {ref}" if ref else "")
