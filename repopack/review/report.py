"""Turn a `ReviewResult` into what people and machines read: Markdown, JSON, SARIF, a GitHub review.

On GitHub a review is posted as one PR review carrying the inline comments plus one
summary comment.  The summary carries a hidden marker so a rerun on a new push edits it
instead of adding another, and each inline comment carries a fingerprint of its finding
so a rerun does not repeat comments that are already there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repopack import __version__
from repopack.choices import Severity
from repopack.errors import ReviewError
from repopack.review.findings import Finding, Placed
from repopack.review.github import GitHubClient, GitHubError
from repopack.review.run import ReviewResult
from repopack.review.sanitize import (
    BODY_CAP,
    COMMENT_CAP,
    SUMMARY_CAP,
    cap,
    known_credentials,
    neutralise,
    scrub_known,
    single_line,
)

SUMMARY_MARKER = "<!-- repopack-review-summary -->"
FINDING_MARKER = "<!-- repopack-finding:{} -->"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
_LIST_LIMIT = 20


def fingerprint(finding: Finding, root: Path | None = None) -> str:
    """Stable across pushes that only move the code: file, title and the text of the line, not its number."""
    text = ""
    if root is not None:
        try:
            lines = (root / finding.file).read_text(encoding="utf-8", errors="replace").splitlines()
            text = lines[finding.line - 1].strip() if finding.line <= len(lines) else ""
        except OSError:
            text = ""
    key = "\0".join((finding.file, finding.title.strip().lower(), text))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _where(f: Finding) -> str:
    return f"{f.file}:{f.line}" + (f"-{f.end_line}" if f.end_line and f.end_line > f.line else "")


def _fence(text: str, info: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}"


def _counts(findings: tuple[Finding, ...] | list[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]} {s}" for s in Severity)


def _paths(items: list[str]) -> str:
    shown = ", ".join(f"`{p}`" for p in items[:_LIST_LIMIT])
    return shown + (f" and {len(items) - _LIST_LIMIT} more" if len(items) > _LIST_LIMIT else "")


def context_lines(result: ReviewResult) -> list[str]:
    """What the model read and what it did not, for every output format that has prose."""
    ctx = result.context
    lines = [f"Read the diff of {len(ctx.diffs) - len(ctx.omitted)} of {len(ctx.diffs)} changed files "
             f"and {len(ctx.files)} files of context ({ctx.pack.packed.tokens:,} tokens of a {ctx.budget:,} budget)."]
    also = [f"`{f.path}` ({f.reason})" if f.reason != "ranked" else f"`{f.path}`" for f in ctx.also_read]
    if also:
        more = f" and {len(also) - _LIST_LIMIT} more" if len(also) > _LIST_LIMIT else ""
        lines.append("Also read: " + ", ".join(also[:_LIST_LIMIT]) + more + ".")
    if ctx.omitted:
        lines.append("Not reviewed (the diff did not fit the budget): "
                     + _paths([f"{d.path} (+{d.additions} -{d.deletions})" for d in ctx.omitted]) + ".")
    partial = [p for p in ctx.not_read if p not in {d.path for d in ctx.omitted}]
    if partial:
        lines.append("Changed files not read in full: " + _paths(partial) + ".")
    return lines


# --- Markdown ----------------------------------------------------------------------------------------
def _finding_md(p: Placed, heading: str = "###") -> list[str]:
    f = p.finding
    out = [f"{heading} [{f.severity}] {f.title}", "", f"`{_where(f)}`" + (f" ({p.note})" if p.note else ""), ""]
    if f.body:
        out += [f.body, ""]
    if f.suggestion:
        out += ["Suggested replacement:", "", _fence(f.suggestion), ""]
    return out


def render_markdown(result: ReviewResult) -> str:
    out = [f"# Review: {result.target.title}", ""]
    if result.summary:
        out += [result.summary, ""]
    out += [f"**Findings:** {_counts(result.findings)}.", ""]
    for p in result.placed:
        out += _finding_md(p)
    out += ["## Context", ""] + [f"- {line}" for line in context_lines(result)] + [""]
    return "\n".join(out)


# --- JSON --------------------------------------------------------------------------------------------
def render_json(result: ReviewResult) -> str:
    ctx = result.context
    payload = {
        "title": result.target.title, "base": result.target.base, "head": result.target.head,
        "pr": result.target.pr, "model": result.model, "summary": result.summary,
        "findings": [{
            "file": p.finding.file, "line": p.finding.line, "end_line": p.finding.end_line,
            "severity": p.finding.severity, "title": p.finding.title, "body": p.finding.body,
            "suggestion": p.finding.suggestion, "category": p.finding.category,
            "inline": p.inline, "comment_line": p.line, "note": p.note or None,
        } for p in result.placed],
        "context": {
            "budget": ctx.budget, "tokens": ctx.pack.packed.tokens, "changed": list(ctx.changed),
            "files": [{"path": f.path, "mode": f.mode, "reason": f.reason} for f in ctx.files],
            "omitted_diffs": [d.path for d in ctx.omitted], "not_read": list(ctx.not_read),
        },
    }
    return json.dumps(payload, indent=2) + "\n"


# --- SARIF -------------------------------------------------------------------------------------------
def render_sarif(result: ReviewResult, root: Path | None = None) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for p in result.placed:
        f = p.finding
        rule = f"repopack/{(f.category or 'review').strip().lower().replace(' ', '-')}"
        rules.setdefault(rule, {"id": rule, "shortDescription": {"text": f"repopack review: {f.category or 'review'}"}})
        region: dict[str, Any] = {"startLine": f.line}
        if f.end_line and f.end_line > f.line:
            region["endLine"] = f.end_line
        results.append({
            "ruleId": rule, "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.title}\n\n{f.body}".strip()},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                                                "region": region}}],
            "partialFingerprints": {"repopackFinding/v1": fingerprint(f, root)},
            "properties": {"severity": f.severity},
            **({"fixes": [_sarif_fix(f)]} if f.suggestion else {}),
        })
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "repopack", "version": __version__,
                            "informationUri": "https://github.com/repopack/repopack", "rules": list(rules.values())}},
        "results": results,
    }]}
    return json.dumps(sarif, indent=2) + "\n"


def _sarif_fix(f: Finding) -> dict[str, Any]:
    """The suggestion as a SARIF fix: the finding's whole lines replaced by it, whitespace exact."""
    region: dict[str, Any] = {"startLine": f.line, "endLine": f.last_line}
    return {"description": {"text": "Suggested replacement"},
            "artifactChanges": [{"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                                 "replacements": [{"deletedRegion": region,
                                                   "insertedContent": {"text": f.suggestion}}]}]}


# --- GitHub ------------------------------------------------------------------------------------------
def inline_comment(p: Placed, root: Path | None) -> dict[str, Any]:
    f = p.finding
    body = [f"**[{f.severity}] {f.title}**"]
    if p.note:
        body.append(f"_(line {f.line}{'-' + str(f.end_line) if f.end_line and f.end_line > f.line else ''} "
                    f"in the finding)_")
    if f.body:
        body.append(f.body)
    if f.suggestion:
        body.append(_fence(f.suggestion, "suggestion") if p.suggestion_applies
                    else "Suggested replacement for " + _where(f) + ":\n\n" + _fence(f.suggestion))
    body.append(FINDING_MARKER.format(fingerprint(f, root)))
    comment: dict[str, Any] = {"path": f.file, "line": p.line, "side": "RIGHT", "body": "\n\n".join(body)}
    if p.start_line is not None:
        comment.update(start_line=p.start_line, start_side="RIGHT")
    return comment


def summary_comment(result: ReviewResult, inline_posted: int, inline_existing: int,
                    moved: list[Placed]) -> str:
    target = result.target
    out = [SUMMARY_MARKER, "## repopack review", ""]
    if result.summary:
        out += [result.summary, ""]
    inline = f"{inline_posted} new inline comment{'s' if inline_posted != 1 else ''}"
    if inline_existing:
        inline += f", {inline_existing} already posted"
    out += [f"**Findings:** {_counts(result.findings)} ({inline}).", ""]
    listed = [p for p in result.placed if p.inline and p not in moved]
    if listed:
        out += [f"- **{p.finding.severity}** `{p.finding.file}:{p.line}` {p.finding.title}" for p in listed] + [""]
    if moved:
        out += ["### Findings outside the changed lines", ""]
        for p in moved:
            out += _finding_md(p, heading="####")
    out += ["### Context", ""] + [f"- {line}" for line in context_lines(result)] + [""]
    out.append(f"<sub>Reviewed {target.head[:12]} with {result.model} by repopack {__version__}. "
               f"This comment is updated on every run.</sub>")
    return "\n".join(out) + "\n"


def _posted(comment: dict[str, Any]) -> dict[str, Any]:
    return {**comment, "body": github_text(comment["body"])}


@dataclass(frozen=True)
class PostOutcome:
    review_id: int | None
    inline_posted: int
    inline_existing: int
    summary_id: int
    summary_updated: bool
    moved: int


_OWN_LAST_LINE = re.compile(r"<!-- repopack-finding:[0-9a-f]{16} -->|<sub>Reviewed [^\n]* by repopack [^\n]*</sub>")


def _safe_finding(f: Finding) -> Finding:
    """The model's words about one finding, as they may be posted: one-line title, capped body."""
    file = single_line(f.file, 300).replace("`", "'")
    return dataclasses.replace(f, file=file, title=single_line(f.title), body=cap(f.body, BODY_CAP),
                               category=single_line(f.category, 60) if f.category else f.category)


def for_github(result: ReviewResult) -> ReviewResult:
    """`result` with every model-written field capped, ready for `github_text`."""
    placed = tuple(dataclasses.replace(p, finding=_safe_finding(p.finding)) for p in result.placed)
    return dataclasses.replace(result, summary=cap(result.summary, SUMMARY_CAP), placed=placed)


def github_text(body: str) -> str:
    """A comment body as posted: nobody notified, nothing loaded, no held credential, within GitHub's limit.

    Only repopack's own first line (the summary marker) and last line (the finding marker or
    the footer) stay markup; everything between, model text included, is neutralised.
    """
    lines = body.split("\n")
    head = lines[:1] if lines[0] == SUMMARY_MARKER else []
    tail = lines[-1:] if len(lines) > len(head) and _OWN_LAST_LINE.fullmatch(lines[-1]) else []
    middle = "\n".join(lines[len(head):len(lines) - len(tail)])
    text = "\n".join([*head, cap(neutralise(middle), COMMENT_CAP), *tail])
    return scrub_known(text, known_credentials())


def _author(comment: dict[str, Any]) -> str | None:
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None


def post_review(client: GitHubClient, result: ReviewResult, root: Path | None = None) -> PostOutcome:
    """One review with the new inline comments, then the summary comment (created or updated).

    Only comments written by the token's own login count as ours: a comment by anyone else
    is never edited and its markers are ignored, whatever it contains.
    """
    number = result.target.pr
    if number is None:
        raise ReviewError("posting needs a pull request (--pr)")
    result = for_github(result)
    me = client.authenticated_login()
    existing_markers = {c.get("body", "").rsplit("<!-- repopack-finding:", 1)[-1].split(" -->")[0]
                        for c in client.review_comments(number)
                        if me is not None and _author(c) == me and "<!-- repopack-finding:" in (c.get("body") or "")}
    inline = [p for p in result.placed if p.inline]
    moved = [p for p in result.placed if not p.inline]
    fresh = [p for p in inline if fingerprint(p.finding, root) not in existing_markers]
    existing = len(inline) - len(fresh)
    review_id = None
    if fresh:
        body = (f"repopack found {len(fresh)} issue{'s' if len(fresh) != 1 else ''} on changed lines; "
                f"the summary comment lists everything it read.")
        try:
            review = client.create_review(number, result.target.head, body, [_posted(inline_comment(p, root))
                                                                             for p in fresh])
        except GitHubError as exc:
            if exc.status != 422:
                raise
            # GitHub refused a comment position (the diff moved under us): keep the findings in the summary.
            review = client.create_review(number, result.target.head, body + " (inline positions were refused, "
                                          "see the summary)", [])
            moved += fresh
            fresh = []
        review_id = int(review.get("id", 0)) or None
    text = github_text(summary_comment(result, len(fresh), existing, moved))
    mine = [c for c in client.issue_comments(number)
            if me is not None and _author(c) == me and SUMMARY_MARKER in (c.get("body") or "")]
    if mine:
        comment = client.update_comment(int(mine[-1]["id"]), text)
        updated = True
    else:
        comment = client.create_comment(number, text)
        updated = False
    return PostOutcome(review_id, len(fresh), existing, int(comment.get("id", 0)), updated, len(moved))
