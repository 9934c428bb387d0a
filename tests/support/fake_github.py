"""A real GitHub REST server on 127.0.0.1 for review tests (threaded, no mocks).

Serves what `repopack review --pr N` reads and writes, under an optional path prefix
(GitHub Enterprise's API lives at ``/api/v3``):

- ``GET  /repos/{owner}/{name}/pulls/{n}``                  the pull request
- ``GET  /repos/{owner}/{name}/pulls/{n}/files``            paginated, ``Link: rel="next"``
- ``GET  /repos/{owner}/{name}/pulls/{n}/comments``         review comments, paginated
- ``POST /repos/{owner}/{name}/pulls/{n}/reviews``          422 when a comment is not on a diff line, like GitHub
                                                           (or for any inline comment: `refuse_inline_comments`)
- ``GET  /repos/{owner}/{name}/issues/{n}/comments``        paginated
- ``POST /repos/{owner}/{name}/issues/{n}/comments``
- ``PATCH /repos/{owner}/{name}/issues/comments/{id}``
- ``GET  /user``                                            the token's login (``login``), or ``user_status``
                                                           (GitHub Actions' token gets 403 there)

Comments the token writes are authored by ``login``; `add_issue_comment` writes as anyone.

Every request is recorded (method, path with query, JSON body).  Pages hold at most
``page_size`` items whatever ``per_page`` asks, so small fixtures exercise pagination.
`add_pull_from_git` builds a pull request from two refs of a real local repository.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "ghs_faketoken0123456789"
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


@dataclass
class Recorded:
    method: str
    path: str  # with the query string
    body: Any


@dataclass
class Pull:
    data: dict[str, Any]
    files: list[dict[str, Any]]
    reviews: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    issue_comments: list[dict[str, Any]] = field(default_factory=list)

    def diff_lines(self, path: str) -> set[int]:
        """New-side lines GitHub lets a review comment sit on: every line of every hunk on the right."""
        for f in self.files:
            if f["filename"] == path and f.get("patch"):
                return right_side_lines(f["patch"])
        return set()


def right_side_lines(patch: str) -> set[int]:
    lines: set[int] = set()
    new = 0
    for line in patch.splitlines():
        match = _HUNK.match(line)
        if match:
            new = int(match.group(1))
            continue
        if line.startswith("-") or line.startswith("\\"):
            continue
        lines.add(new)
        new += 1
    return lines


def added_lines(patch: str) -> set[int]:
    lines: set[int] = set()
    new = 0
    for line in patch.splitlines():
        match = _HUNK.match(line)
        if match:
            new = int(match.group(1))
        elif line.startswith("+"):
            lines.add(new)
            new += 1
        elif not line.startswith("-") and not line.startswith("\\"):
            new += 1
    return lines


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        srv = self.server
        with srv.lock:
            srv.requests.append(Recorded(self.command, self.path, body))
        if self.headers.get("Authorization") != f"Bearer {srv.token}":
            self._send(401, {"message": "Bad credentials"})
            return
        url = urlsplit(self.path)
        route = url.path
        if route == srv.prefix + "/user" and self.command == "GET":
            if srv.user_status != 200:
                self._send(srv.user_status, {"message": "Resource not accessible by integration"})
            else:
                self._send(200, {"login": srv.login, "id": 41898282, "type": "Bot"})
            return
        if not route.startswith(srv.prefix + "/repos/" + srv.repo + "/"):
            self._send(404, {"message": "Not Found"})
            return
        rest = route[len(srv.prefix + "/repos/" + srv.repo + "/"):]
        query = parse_qs(url.query)
        with srv.lock:
            self._route(self.command, rest, query, body)

    def _route(self, method: str, rest: str, query: dict[str, list[str]], body: Any) -> None:
        srv = self.server
        parts = rest.strip("/").split("/")
        if parts[0] == "pulls" and len(parts) >= 2 and parts[1].isdigit():
            pull = srv.pulls.get(int(parts[1]))
            if pull is None:
                self._send(404, {"message": "Not Found"})
            elif len(parts) == 2 and method == "GET":
                self._send(200, pull.data)
            elif parts[2:] == ["files"] and method == "GET":
                self._page(pull.files, query)
            elif parts[2:] == ["comments"] and method == "GET":
                self._page(pull.review_comments, query)
            elif parts[2:] == ["reviews"] and method == "POST":
                self._review(pull, body)
            else:
                self._send(404, {"message": "Not Found"})
        elif parts[0] == "issues" and parts[1:2] == ["comments"] and len(parts) == 3 and method == "PATCH":
            for pull in srv.pulls.values():
                for comment in pull.issue_comments:
                    if str(comment["id"]) == parts[2]:
                        comment["body"] = body["body"]
                        self._send(200, comment)
                        return
            self._send(404, {"message": "Not Found"})
        elif parts[0] == "issues" and len(parts) == 3 and parts[2] == "comments" and parts[1].isdigit():
            pull = srv.pulls.get(int(parts[1]))
            if pull is None:
                self._send(404, {"message": "Not Found"})
            elif method == "GET":
                self._page(pull.issue_comments, query)
            elif method == "POST":
                comment = {"id": srv.next_id(), "body": body["body"], "user": {"login": srv.login}}
                pull.issue_comments.append(comment)
                self._send(201, comment)
            else:
                self._send(404, {"message": "Not Found"})
        else:
            self._send(404, {"message": "Not Found"})

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> None:
        srv = self.server
        per_page = min(int(query.get("per_page", ["30"])[0]), srv.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            host, port = srv.server_address[:2]
            path = urlsplit(self.path).path
            headers["Link"] = (f'<http://{host}:{port}{path}?per_page={per_page}&page={page + 1}>; rel="next", '
                               f'<http://{host}:{port}{path}?per_page={per_page}&page=1>; rel="first"')
        self._send(200, chunk, headers)

    def _review(self, pull: Pull, body: dict[str, Any]) -> None:
        if body.get("commit_id") != pull.data["head"]["sha"]:
            self._send(422, {"message": "Unprocessable Entity", "errors": ["commit_id is not the PR head"]})
            return
        if self.server.refuse_inline and body.get("comments"):
            self._send(422, {"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]})
            return
        for comment in body.get("comments") or []:
            lines = pull.diff_lines(comment.get("path", ""))
            wanted = [comment.get("line")] + ([comment["start_line"]] if comment.get("start_line") else [])
            if comment.get("side", "RIGHT") != "RIGHT" or not all(n in lines for n in wanted):
                self._send(422, {"message": "Unprocessable Entity",
                                 "errors": ["Pull request review thread line must be part of the diff"]})
                return
        review = {"id": self.server.next_id(), "body": body.get("body", ""), "event": body.get("event"),
                  "commit_id": body["commit_id"]}
        pull.reviews.append(review)
        for comment in body.get("comments") or []:
            pull.review_comments.append({"id": self.server.next_id(), "pull_request_review_id": review["id"],
                                         "user": {"login": self.server.login}, **comment})
        self._send(200, review)

    do_GET = do_POST = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repo: str, token: str, prefix: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.pulls: dict[int, Pull] = {}
        self.repo = repo
        self.token = token
        self.prefix = prefix
        self.page_size = 100
        self.refuse_inline = False  # answer 422 to any review with inline comments
        self.login = "github-actions[bot]"  # who the token is
        self.user_status = 200  # what GET /user answers (403: an installation token)
        self._ids = 1000

    def next_id(self) -> int:
        self._ids += 1
        return self._ids


class FakeGitHub:
    """Test handle: ``api_url``, ``env``, ``pulls``, ``requests``, ``add_pull_from_git``."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.api_url = f"http://{host}:{port}{server.prefix}"
        self.repo = server.repo

    @property
    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.api_url, "GITHUB_REPOSITORY": self.repo, "GITHUB_TOKEN": self._server.token}

    @property
    def requests(self) -> list[Recorded]:
        with self._server.lock:
            return list(self._server.requests)

    def pull(self, number: int) -> Pull:
        return self._server.pulls[number]

    def set_page_size(self, size: int) -> None:
        self._server.page_size = size

    def refuse_inline_comments(self) -> None:
        self._server.refuse_inline = True

    @property
    def login(self) -> str:
        return self._server.login

    def set_user(self, login: str | None = None, status: int = 200) -> None:
        """Who the token is; status 403 makes GET /user refuse, as for an Actions installation token."""
        with self._server.lock:
            self._server.login = login or self._server.login
            self._server.user_status = status

    def add_issue_comment(self, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        with self._server.lock:
            comment = {"id": self._server.next_id(), "body": body, "user": {"login": login}}
            self._server.pulls[number].issue_comments.append(comment)
            return comment

    def add_review_comment(self, number: int, body: str, path: str, line: int, login: str = "someone") -> dict:
        with self._server.lock:
            comment = {"id": self._server.next_id(), "body": body, "path": path, "line": line, "side": "RIGHT",
                       "user": {"login": login}}
            self._server.pulls[number].review_comments.append(comment)
            return comment

    def add_pull_from_git(self, root: Path, number: int, base: str, head: str, title: str = "A change",
                          body: str = "") -> Pull:
        """Pull request `number` from `base` to `head` of a local repository, with GitHub's per-file patches."""
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                                  text=True).stdout

        base_sha, head_sha = git("rev-parse", base).strip(), git("rev-parse", head).strip()
        statuses = {"A": "added", "D": "removed", "M": "modified", "R": "renamed"}
        files = []
        for row in git("diff", "--name-status", "-M", base_sha, head_sha).splitlines():
            code, *names = row.split("\t")
            path = names[-1]
            diff = git("diff", "-M", base_sha, head_sha, "--", *names)
            start = diff.find("\n@@")
            patch = diff[start + 1:].rstrip("\n") if start >= 0 else None
            additions = sum(1 for ln in (patch or "").splitlines() if ln.startswith("+"))
            deletions = sum(1 for ln in (patch or "").splitlines() if ln.startswith("-"))
            entry: dict[str, Any] = {"filename": path, "status": statuses.get(code[0], "modified"),
                                     "additions": additions, "deletions": deletions, "changes": additions + deletions,
                                     "patch": patch}
            if code.startswith("R"):
                entry["previous_filename"] = names[0]
            files.append(entry)
        data = {"number": number, "title": title, "body": body, "state": "open",
                "html_url": f"https://github.example/{self.repo}/pull/{number}",
                "base": {"sha": base_sha, "ref": base}, "head": {"sha": head_sha, "ref": head}}
        pull = Pull(data, files)
        with self._server.lock:
            self._server.pulls[number] = pull
        return pull


@contextmanager
def serve_fake_github(repo: str = "octo/widgets", prefix: str = "/api/v3") -> Iterator[FakeGitHub]:
    """A fresh server for one test (GitHub Enterprise style prefix by default)."""
    server = _Server(repo, TOKEN, prefix)
    thread = threading.Thread(target=server.serve_forever, name="fake-github", daemon=True)
    thread.start()
    try:
        yield FakeGitHub(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with serve_fake_github() as handle:
        yield handle
