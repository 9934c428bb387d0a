"""The few GitHub REST calls a pull-request review needs, over httpx.

Reads a pull request and its files (every page, following ``Link: rel="next"``), lists
and edits issue comments, and creates one review with inline comments.  The API root
comes from ``GITHUB_API_URL`` so GitHub Enterprise works unchanged.  The token is sent
as a header only and never appears in a message or repr.  Every failure becomes a
`ReviewError` that says what to check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

try:  # openai >= 3 ships the client as `httpx2`; older releases depend on `httpx`
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx  # type: ignore[no-redef,import-not-found,unused-ignore]

from repopack import __version__
from repopack.errors import ReviewError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 items: GitHub itself stops listing PR files at 3,000
ACTIONS_LOGIN = "github-actions[bot]"  # who writes the comments of GitHub Actions' GITHUB_TOKEN
_UNKNOWN: Any = object()


class GitHubError(ReviewError):
    """An HTTP error from the API; `status` lets callers react to 404 or 422."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    base_sha: str
    head_sha: str
    base_ref: str
    head_ref: str
    html_url: str = ""


@dataclass(frozen=True)
class PullFile:
    """One changed file; ``patch`` is missing for binary files and very large diffs."""

    path: str
    status: str  # added | removed | modified | renamed | copied | changed | unchanged
    additions: int
    deletions: int
    patch: str | None
    previous_path: str | None = None


@dataclass(frozen=True)
class GitHubSettings:
    repository: str  # owner/name
    token: str | None = field(repr=False)
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, repository: str | None = None, env: Mapping[str, str] | None = None, *,
                 require_token: bool = True) -> GitHubSettings:
        environ = os.environ if env is None else env
        repo = repository or environ.get("GITHUB_REPOSITORY") or ""
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ReviewError("--pr needs the repository as owner/name: set GITHUB_REPOSITORY (GitHub Actions "
                              "sets it) or pass --repo")
        token = environ.get("GITHUB_TOKEN") or None
        if token is None and require_token:
            raise ReviewError("--pr needs GITHUB_TOKEN (in Actions: env GITHUB_TOKEN: ${{ github.token }} "
                              "with permissions pull-requests: write); use --no-post with --base for local reviews")
        api_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        return cls(repo, token, api_url)


class GitHubClient:
    """A small synchronous client; use as a context manager or call `close`."""

    def __init__(self, settings: GitHubSettings, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._env = os.environ if env is None else env
        self._login: str | None = _UNKNOWN
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": f"repopack/{__version__}"}
        if settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        self._http = httpx.Client(base_url=settings.api_url + "/", headers=headers, timeout=timeout,
                                  transport=transport, follow_redirects=True)

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport -----------------------------------------------------------
    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """`url` is relative to the API root, or absolute (a Link header's next page)."""
        where = f"{method} {url if '://' in url else self.settings.api_url + '/' + url}"
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise ReviewError(f"GitHub did not answer in time: {where}; try again") from None
        except httpx.HTTPError as exc:
            raise ReviewError(f"could not reach GitHub ({where}): {exc}; check GITHUB_API_URL") from None
        if response.status_code >= 400:
            raise GitHubError(_status_message(response, where, bool(self.settings.token)), response.status_code)
        return response

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ReviewError(f"GitHub sent a reply that is not JSON for {method} {url}") from None

    def _pages(self, url: str) -> Iterator[Any]:
        """Every item of a list endpoint, following Link rel="next" across pages."""
        next_url: str | None = url
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            response = self._request("GET", next_url, params=params)
            items = response.json()
            if not isinstance(items, list):
                raise ReviewError(f"GitHub sent no list for GET {url}")
            yield from items
            next_url = response.links.get("next", {}).get("url")
            params = None  # the next link carries its own query

    # --- who we are ------------------------------------------------------------
    def authenticated_login(self) -> str | None:
        """The login the token acts as, looked up once (GET /user).

        GitHub Actions' installation token may not read /user (403): its comments are
        written by ``github-actions[bot]``.  None when the login cannot be known: then no
        existing comment is ever edited.
        """
        if self._login is not _UNKNOWN:
            return self._login
        login: str | None = None
        try:
            data = self._json("GET", "user")
            value = data.get("login") if isinstance(data, dict) else None
            login = value if isinstance(value, str) and value else None
        except GitHubError as exc:
            if exc.status == 401:
                raise
            if self._env.get("GITHUB_ACTIONS") == "true":
                login = ACTIONS_LOGIN
        self._login = login
        return login

    # --- pull requests -------------------------------------------------------
    def _repo(self, rest: str) -> str:
        return f"repos/{self.settings.repository}/{rest}"

    def pull_request(self, number: int) -> PullRequest:
        data = self._json("GET", self._repo(f"pulls/{number}"))
        try:
            return PullRequest(number=int(data["number"]), title=data.get("title") or "", body=data.get("body") or "",
                               base_sha=data["base"]["sha"], head_sha=data["head"]["sha"],
                               base_ref=data["base"].get("ref", ""), head_ref=data["head"].get("ref", ""),
                               html_url=data.get("html_url") or "")
        except (KeyError, TypeError, ValueError):
            raise ReviewError(f"GitHub's reply for pull request #{number} lacks base/head") from None

    def pull_files(self, number: int) -> list[PullFile]:
        files = []
        for item in self._pages(self._repo(f"pulls/{number}/files")):
            files.append(PullFile(path=item["filename"], status=item.get("status", "modified"),
                                  additions=int(item.get("additions") or 0), deletions=int(item.get("deletions") or 0),
                                  patch=item.get("patch"), previous_path=item.get("previous_filename")))
        return files

    def review_comments(self, number: int) -> list[dict[str, Any]]:
        return list(self._pages(self._repo(f"pulls/{number}/comments")))

    def create_review(self, number: int, commit_id: str, body: str,
                      comments: list[dict[str, Any]]) -> dict[str, Any]:
        payload = {"commit_id": commit_id, "body": body, "event": "COMMENT", "comments": comments}
        result: dict[str, Any] = self._json("POST", self._repo(f"pulls/{number}/reviews"), json=payload)
        return result

    # --- issue comments (the summary) ----------------------------------------
    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        return list(self._pages(self._repo(f"issues/{number}/comments")))

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._repo(f"issues/{number}/comments"), json={"body": body})
        return result

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("PATCH", self._repo(f"issues/comments/{comment_id}"), json={"body": body})
        return result


def _status_message(response: httpx.Response, where: str, sent_token: bool = True) -> str:
    try:
        detail = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        detail = response.text[:200]
    detail = " ".join(detail.split())
    status = response.status_code
    hint = ""
    if status in (401, 403, 404) and not sent_token:
        hint = ("; no GITHUB_TOKEN is set, and GitHub needs one for this (set GITHUB_TOKEN to a token that can "
                "read the repository)")
    elif status == 401:
        hint = "; GITHUB_TOKEN was refused"
    elif status == 403:
        hint = ("; the token lacks permission (the workflow needs permissions: pull-requests: write) "
                "or the rate limit is exhausted")
    elif status == 404:
        hint = "; check GITHUB_REPOSITORY, the PR number and that the token can see the repository"
    return f"GitHub answered HTTP {status} to {where}{': ' + detail if detail else ''}{hint}"
