"""Remote repositories: git daemon on loopback, file:// URLs, refs, the cache, errors, tokens."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from helpers import run_cli
from support.git_daemon import GitDaemon, free_port

from repopack.errors import RemoteError
from repopack.packing.remote import _git_env, parse_remote

TOKEN = "ghp_neverShowThisToken0123456789abcdef"


@pytest.fixture
def served(make_repo: Any, tmp_path: Path) -> Iterator[tuple[GitDaemon, Path]]:
    """A repository with tag v1 (annotated) and a later commit on main, served by git daemon."""
    src = make_repo({"app.py": "def version():\n    return 'one'\n", "README.md": "# demo\n"}, name="src")
    git(src, "tag", "-a", "v1", "-m", "first release")
    (src / "app.py").write_text("def version():\n    return 'two'\n")
    (src / "later.py").write_text("LATER = True\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "second")
    base = tmp_path / "served"
    base.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(base / "demo.git")], check=True)
    daemon = GitDaemon(base).start()
    try:
        yield daemon, src
    finally:
        daemon.stop()


def test_git_daemon_tag_is_packed_and_the_second_run_fetches_nothing(served: Any, tmp_path: Path) -> None:
    daemon, _src = served
    url = f"{daemon.url}/demo.git"
    out = tmp_path / "one.xml"
    first = run_cli("pack", url, "--ref", "v1", "-o", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    text = out.read_text()
    assert "return 'one'" in text and "later.py" not in text
    assert '<repository name="demo">' in text
    assert "(fetched)" in first.stderr
    daemon.wait_logged(2)
    assert daemon.requests == 2  # one ls-remote, one shallow fetch

    daemon.stop()  # the second run must not need the network at all
    again = tmp_path / "two.xml"
    second = run_cli("pack", url, "--ref", "v1", "-o", str(again), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "cached, nothing fetched" in second.stderr
    assert again.read_text() == text


def test_missing_ref_and_unreachable_host_are_one_line_with_exit_codes(served: Any, tmp_path: Path) -> None:
    daemon, _src = served
    missing = run_cli("pack", f"{daemon.url}/demo.git", "--ref", "v9", "-o", "-", cwd=tmp_path)
    assert missing.returncode == 16
    assert missing.stderr.strip().splitlines() == [f"repopack: error: ref 'v9' not found in {daemon.url}/demo.git"]
    assert missing.stdout == ""

    closed = f"git://127.0.0.1:{free_port()}/demo.git"
    down = run_cli("pack", closed, "-o", "-", cwd=tmp_path)
    assert down.returncode == 15
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repopack: error: cannot reach 127.0.0.1 for " + closed)

    unknown = run_cli("pack", "https://no-such-host.invalid/x/y.git", "-o", "-", cwd=tmp_path)
    assert unknown.returncode == 15
    assert unknown.stderr.strip().startswith("repopack: error: cannot reach no-such-host.invalid")
    assert len(unknown.stderr.strip().splitlines()) == 1

    nothing = run_cli("pack", f"{daemon.url}/nothing-here.git", "-o", "-", cwd=tmp_path)
    assert nothing.returncode in (15, 17)
    assert len(nothing.stderr.strip().splitlines()) == 1 and "Traceback" not in nothing.stderr


def test_file_url_branch_rank_map_and_the_token_stays_secret(served: Any, tmp_path: Path) -> None:
    _daemon, src = served
    url = src.as_uri()
    env = {"GITHUB_TOKEN": TOKEN}
    manifest = tmp_path / "m.json"
    first = run_cli("pack", url, "-o", "-", "--manifest", str(manifest), "--include-log", "2", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "return 'two'" in first.stdout and "later.py" in first.stdout
    assert "second" in first.stdout and "initial" in first.stdout  # the log block got two commits
    second = run_cli("pack", url, "-o", "-", env=env, cwd=tmp_path)
    assert "cached, nothing fetched" in second.stderr  # a branch costs one ls-remote, no fetch

    ranked = run_cli("rank", url, "--ref", "v1", "-q", "version", env=env, cwd=tmp_path)
    assert ranked.returncode == 0 and ranked.stdout.splitlines()[0] == "app.py"
    mapped = run_cli("map", url, env=env, cwd=tmp_path)
    assert mapped.returncode == 0 and "def version" in mapped.stdout

    cache = Path(os.environ["REPOPACK_CACHE_DIR"])
    everything = first.stdout + first.stderr + second.stderr + ranked.stderr + manifest.read_text()
    assert TOKEN not in everything
    for path in cache.rglob("*"):
        assert TOKEN not in str(path)
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert TOKEN.encode() not in path.read_bytes()


def test_edits_in_a_cached_checkout_never_reach_the_next_pack(served: Any, tmp_path: Path) -> None:
    _daemon, src = served
    url = src.as_uri()
    first = run_cli("pack", url, "--ref", "v1", "-o", "-", cwd=tmp_path)
    root = next(Path(os.environ["REPOPACK_CACHE_DIR"]).glob("remote/*/*/src"))
    (root / "app.py").write_text("tampered = True\n")
    (root / "new.py").write_text("x = 1\n")
    again = run_cli("pack", url, "--ref", "v1", "-o", "-", cwd=tmp_path)
    assert again.stdout == first.stdout


def test_parse_remote_forms() -> None:
    gh = parse_remote("github:pallets/flask@3.0.0")
    assert gh is not None and (gh.url, gh.name, gh.ref) == ("https://github.com/pallets/flask.git", "flask", "3.0.0")
    web = parse_remote("https://github.com/pallets/flask/tree/main")
    assert web is not None and (web.url, web.ref) == ("https://github.com/pallets/flask.git", "main")
    creds = parse_remote("https://user:s3cret@git.example.com/team/repo.git")
    assert creds is not None and creds.display == "https://git.example.com/team/repo.git" and creds.name == "repo"
    scp = parse_remote("git@github.com:pallets/flask.git")
    assert scp is not None and scp.name == "flask"
    assert parse_remote(".") is None and parse_remote("src/app") is None
    with pytest.raises(RemoteError, match="unsupported repository URL"):
        parse_remote("ext::sh -c touch% /tmp/pwned")
    with pytest.raises(RemoteError, match="unsupported repository URL scheme"):
        parse_remote("ftp://example.com/repo.git")


def test_github_token_goes_to_github_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    gh = parse_remote("github:owner/private")
    other = parse_remote("https://gitlab.example.com/owner/private.git")
    assert gh is not None and other is not None
    gh_env, other_env = _git_env(gh), _git_env(other)
    headers = [v for k, v in gh_env.items() if k.startswith("GIT_CONFIG_VALUE_")]
    assert len(headers) == 1 and headers[0].startswith("Authorization: Basic ")
    assert not any(k.startswith("GIT_CONFIG_VALUE_") and "Authorization" in v for k, v in other_env.items())
    assert gh_env["GIT_TERMINAL_PROMPT"] == "0"


def test_auth_failure_is_exit_17_and_the_token_goes_nowhere_but_github(tmp_path: Path) -> None:
    """A real HTTP server that asks for credentials: git must not prompt, and GITHUB_TOKEN is not sent."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(" ".join(f"{k}: {v}" for k, v in self.headers.items()))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/owner/private.git"
        result = run_cli("pack", url, "-o", "-", env={"GITHUB_TOKEN": TOKEN}, cwd=tmp_path, timeout=60)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert result.returncode == 17, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"repopack: error: authentication failed or no access to {url}")
    assert seen and not any(TOKEN in h or "Authorization" in h for h in seen)
    assert TOKEN not in result.stderr
