"""`repopack mcp` driven by the MCP SDK's own client over stdio: a real session."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from repopack.config import load_settings
from repopack.mcp.pages import grep, make_stored, paginate
from repopack.packing.pipeline import pack_repo
from repopack.packing.tokens import get_tokenizer

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PAGE_TOKENS = 1000  # small pages, so a fixture repository spans several


def _text(result: Any) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def _params(cwd: Path, *extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k.startswith(("REPOPACK_", "GIT_", "HOME", "PATH"))}
    return StdioServerParameters(command=sys.executable, args=["-m", "repopack", "mcp", "--page-tokens",
                                                                str(PAGE_TOKENS), *extra], env=env, cwd=str(cwd))


async def _session(cwd: Path, script: Any, *extra: str) -> Any:
    with open(os.devnull, "w") as errlog:
        async with stdio_client(_params(cwd, *extra), errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await script(session)


def test_stdio_session_packs_pages_and_greps(fixture_repo: Any, make_repo: Any) -> None:
    root = fixture_repo("polyglot")
    other = make_repo({"secret_plan.py": "x = 2\n"}, name="other")  # outside --allow
    (root / "pyapp_extra.py").write_text("def compute_invoice_total(items):\n    return sum(items)\n")
    # The repository's config cannot turn redaction off for the server any more than for the CLI.
    (root / ".repopack.toml").write_text("redact = false\n")
    (root / "creds.py").write_text(f'aws_key = "{AWS_KEY}"\n')

    async def script(session: ClientSession) -> dict[str, Any]:
        tools = await session.list_tools()
        first = await session.call_tool("pack", {"path": str(root)})
        pack_id = re.search(r"pack_id: (\w+)", _text(first)).group(1)  # type: ignore[union-attr]
        n_pages = int(re.search(r"page 1 of (\d+)", _text(first)).group(1))  # type: ignore[union-attr]
        pages = [(await session.call_tool("read_pack", {"pack_id": pack_id, "page": i})) for i in
                 range(1, n_pages + 1)]
        hits = await session.call_tool("grep_pack", {"pack_id": pack_id, "pattern": r"def compute_invoice_total"})
        lines = await session.call_tool("read_pack", {"pack_id": pack_id, "start_line": 1, "end_line": 3})
        missing = await session.call_tool("read_pack", {"pack_id": pack_id, "page": n_pages + 1})
        bad = await session.call_tool("pack", {"path": str(root / "nope")})
        explained = await session.call_tool("explain", {"pack_id": pack_id})
        ranked = await session.call_tool("rank", {"path": str(root), "query": "invoice total"})
        mapped = await session.call_tool("map", {"path": str(root), "budget": 2000})
        outside = await session.call_tool("pack", {"path": str(other)})
        outside_url = await session.call_tool("pack", {"path": other.as_uri()})
        return {"outside": outside, "outside_url": outside_url,
                "tools": tools, "first": first, "pages": pages, "hits": hits, "lines": lines,
                "missing": missing, "bad": bad, "explained": explained, "ranked": ranked, "mapped": mapped,
                "pack_id": pack_id}

    out = asyncio.run(_session(root, script, "--allow", str(root)))
    tools = {t.name: t for t in out["tools"].tools}
    assert set(tools) == {"pack", "read_pack", "grep_pack", "rank", "map", "explain"}
    assert all(t.description and len(t.description) > 40 for t in tools.values())
    assert "description" in tools["pack"].input_schema["properties"]["query"]

    # The pages together are the pack, each under the page limit.
    settings = load_settings(root, {})
    expected = pack_repo(root, settings).text
    tok = get_tokenizer(settings.encoding)
    bodies = []
    for page in out["pages"]:
        assert not page.is_error
        header, _, body = _text(page).partition("]\n")
        assert tok.count(body) <= PAGE_TOKENS
        bodies.append(body)
    assert len(bodies) > 1
    assert "".join(bodies) == expected
    assert AWS_KEY not in expected and "[REDACTED:" in expected
    assert _text(out["first"]).endswith(bodies[0])

    hits = _text(out["hits"])
    assert hits.startswith("pyapp_extra.py:1: def compute_invoice_total(items):")
    assert _text(out["lines"]).count("\n") == 4  # the range header and three lines
    assert out["missing"].is_error and "pages, not" in _text(out["missing"])
    assert out["bad"].is_error
    assert _text(out["bad"]) == f"repopack: error: path does not exist: {root / 'nope'}"
    assert "full" in _text(out["explained"])
    ranked = _text(out["ranked"]).splitlines()
    assert any(line.split()[1] == "pyapp_extra.py" for line in ranked)
    assert all(re.fullmatch(r"\d\.\d{4}  \S+  \(.+\)", line) for line in ranked)
    assert _text(out["mapped"]).strip()
    # Paths outside the allowed directories are refused, and nothing of them is shown.
    assert out["outside"].is_error
    assert "outside the directories this server may read" in _text(out["outside"])
    assert "secret_plan" not in _text(out["outside"])
    assert out["outside_url"].is_error and "outside the directories" in _text(out["outside_url"])  # file:// too


def test_pages_join_to_the_pack_and_respect_the_limit(fixture_repo: Any) -> None:
    root = fixture_repo("pyapp")
    settings = load_settings(root, {})
    result = pack_repo(root, settings)
    tok = get_tokenizer(settings.encoding)
    for limit in (200, 333, 5000):
        pages = paginate(result.text, tok, limit)
        assert "".join(p.text for p in pages) == result.text
        assert all(p.tokens <= limit and tok.count(p.text) == p.tokens for p in pages)
    long_line = "x" * 20000 + "\n"
    pages = paginate("a\n" + long_line + "b\n", tok, 1000)
    assert "".join(p.text for p in pages) == "a\n" + long_line + "b\n"
    assert all(p.tokens <= 1000 for p in pages)


def test_grep_maps_hits_to_file_lines_in_skeletons_too(fixture_repo: Any) -> None:
    root = fixture_repo("pyapp")
    settings = load_settings(root, {"budget": 700})
    result = pack_repo(root, settings)
    stored = make_stored("p1", str(root), result, 1000)
    hits, truncated = grep(stored, r"^\s*(\d+│ )?def ", max_results=500)
    assert hits and not truncated
    for hit in hits:
        source = (root / hit.path).read_text().splitlines()  # type: ignore[operator]
        assert hit.file_line is not None
        assert source[hit.file_line - 1].strip() in hit.text
    with pytest.raises(Exception, match="not a valid regular expression"):
        grep(stored, "(")


def test_streamable_http_on_loopback(fixture_repo: Any) -> None:
    import shutil
    import socket
    import subprocess
    import time

    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from support.git_daemon import free_port

    root = fixture_repo("pyapp")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "repopack", "mcp", "--http", str(port), "--allow", str(root)],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        # Bound to loopback only: the port is not open on another address of this machine.
        if shutil.which("ss"):
            listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
            assert all("127.0.0.1:" in line for line in listening.splitlines() if line.strip())

        async def script() -> tuple[set[str], str]:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                packed = await session.call_tool("pack", {"path": str(root), "budget": "2k", "query": "billing"})
                return names, _text(packed)

        names, packed = asyncio.run(script())
        assert {"pack", "read_pack", "grep_pack", "rank", "map", "explain"} <= names
        assert "pack_id: p" in packed and "billing.py" in packed
        # A page from another origin (DNS rebinding) is refused.
        foreign = httpx2.post(f"http://127.0.0.1:{port}/mcp", headers={"Host": "evil.example:80",
                              "Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
                              content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
        assert foreign.status_code in (400, 403, 421)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=60),
       limit=st.integers(min_value=40, max_value=600))
def test_pages_always_join_to_the_text_and_fit(lines: list[str], limit: int) -> None:
    tok = get_tokenizer(None)
    text = "\n".join(lines)
    pages = paginate(text, tok, limit)
    assert "".join(p.text for p in pages) == text
    assert all(tok.count(p.text) <= limit for p in pages)
