"""Review findings: the JSON schema the model answers in, unified diffs, and where findings go.

The model's reply is validated against `_ReviewSchema` (pydantic, which the openai SDK
already depends on); the error text goes back to the model for its one retry.  Each
finding is then placed on a line the change *added* (the `+` lines of its file's diff),
snapped there when it is at most `SNAP_LINES` away, or moved into the summary with the
reason, so no inline comment lands on a line the change did not touch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import unidiff
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from repopack.choices import Severity
from repopack.errors import ReviewError

_SEVERITY_WORDS = {"critical": "high", "blocker": "high", "high": "high", "error": "high", "major": "high",
                   "medium": "medium", "warning": "medium", "moderate": "medium",
                   "low": "low", "info": "low", "note": "low", "minor": "low", "nit": "low"}
SNAP_LINES = 2  # a finding this close to a changed line is moved onto it (models are often off by one)


# --- findings ------------------------------------------------------------------------------------
class _FindingSchema(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    file: str = Field(min_length=1, validation_alias=AliasChoices("file", "path"))
    line: int = Field(ge=1)
    end_line: int | None = Field(default=None, ge=1)
    severity: Severity
    title: str = Field(min_length=1)
    body: str = ""
    # Replacement code: every space and tab is meaningful (indentation), so never stripped.
    suggestion: Annotated[str, StringConstraints(strip_whitespace=False)] | None = None
    category: str | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        return _SEVERITY_WORDS.get(str(value).strip().lower(), value) if isinstance(value, str) else value


class _ReviewSchema(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = ""
    findings: list[_FindingSchema]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    severity: Severity
    title: str
    body: str
    end_line: int | None = None
    suggestion: str | None = None
    category: str | None = None

    @property
    def last_line(self) -> int:
        return max(self.line, self.end_line or self.line)


@dataclass(frozen=True)
class ModelReview:
    summary: str
    findings: tuple[Finding, ...]


class InvalidReview(ValueError):
    """The model's reply is not review JSON; the message says why, for the retry."""


def parse_review(text: str) -> ModelReview:
    """Read the model's reply: a JSON object, possibly in a ```json fence, validated against the schema."""
    raw = text.strip()
    fenced = re.search(r"```(?:json)?\s*\n(.*?)\n\s*```", raw, re.DOTALL)
    candidates = [raw] + ([fenced.group(1)] if fenced else []) + ([raw[raw.find("{"): raw.rfind("}") + 1]]
                                                                    if "{" in raw else [])
    data: Any = None
    error = "the reply is empty" if not raw else ""
    for candidate in candidates:
        try:
            data = json.loads(candidate)
            break
        except ValueError as exc:
            error = error or f"not valid JSON: {exc}"
    else:
        raise InvalidReview(error or "no JSON object found")
    try:
        parsed = _ReviewSchema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors())
        raise InvalidReview(f"does not match the schema: {problems}") from None
    return ModelReview(parsed.summary.strip(), tuple(
        Finding(_clean_path(f.file), f.line, f.severity, f.title, f.body, f.end_line,
                _exact_suggestion(f.suggestion), f.category) for f in parsed.findings))


def _exact_suggestion(text: str | None) -> str | None:
    """The replacement lines exactly as written (indentation, tabs, trailing spaces), minus the
    line breaks around them; None when there is nothing but whitespace."""
    if text is None or not text.strip():
        return None
    return text.strip("\r\n")


def _clean_path(path: str) -> str:
    path = path.strip().replace("\\", "/")
    for prefix in ("a/", "b/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    return path


# --- diffs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileDiff:
    """One file of a diff, with the new-side lines it added and the spans of its hunks."""

    path: str
    status: str  # added | removed | modified | renamed
    text: str  # this file's part of the unified diff, headers included
    added: frozenset[int]
    hunks: tuple[tuple[int, int], ...]  # new-side (first, last) line of each hunk
    additions: int
    deletions: int
    old_path: str | None = None

    def hunk_of(self, line: int) -> int | None:
        for i, (first, last) in enumerate(self.hunks):
            if first <= line <= last:
                return i
        return None


def parse_diff(text: str) -> list[FileDiff]:
    """Split a unified diff (git's or GitHub's) into files; binary and header-only files have no hunks."""
    try:
        patch = unidiff.PatchSet(text)
    except unidiff.UnidiffParseError as exc:
        raise ReviewError(f"cannot read the diff: {exc}") from None
    out = []
    for pf in patch:
        added: set[int] = set()
        hunks = []
        for hunk in pf:
            hunks.append((hunk.target_start, hunk.target_start + max(hunk.target_length, 1) - 1))
            added.update(line.target_line_no for line in hunk if line.is_added and line.target_line_no)
        status = "added" if pf.is_added_file else "removed" if pf.is_removed_file else (
            "renamed" if pf.is_rename else "modified")
        path = _clean_path(pf.path)
        old = _clean_path(pf.source_file) if pf.is_rename and pf.source_file else None
        text, additions, deletions = str(pf), pf.added, pf.removed
        if "\x00" in text:  # git looks for NUL bytes only in the first 8,000: a later one makes it binary here
            header = "".join(str(line) for line in pf.patch_info or ()) or f"diff --git a/{path} b/{path}\n"
            text = header + f"Binary files a/{old or path} and b/{path} differ\n"
            added, hunks, additions, deletions = set(), [], 0, 0
        out.append(FileDiff(path, status, text, frozenset(added), tuple(hunks), additions, deletions, old))
    return out


def diff_from_patches(files: Sequence[tuple[str, str, str | None, str | None]]) -> str:
    """A unified diff from GitHub's per-file patches: (path, status, patch, previous path)."""
    parts = []
    for path, status, patch, previous in files:
        old = f"a/{previous or path}" if status != "added" else "/dev/null"
        new = f"b/{path}" if status != "removed" else "/dev/null"
        header = f"diff --git a/{previous or path} b/{path}\n"
        # Git's extended headers: unidiff needs them to accept /dev/null sides and to see renames.
        if status == "added":
            header += "new file mode 100644\n"
        elif status == "removed":
            header += "deleted file mode 100644\n"
        elif previous and previous != path:
            header += f"rename from {previous}\nrename to {path}\n"
        if not patch:  # a binary file, a pure rename, or a diff GitHub will not show
            parts.append(header + (f"Binary files {old} and {new} differ\n" if status != "renamed" else ""))
            continue
        body = patch if patch.endswith("\n") else patch + "\n"
        parts.append(header + f"--- {old}\n+++ {new}\n" + body)
    return "".join(parts)


# --- placing findings on the diff -------------------------------------------------------------------
@dataclass(frozen=True)
class Placed:
    """A finding and where it goes: an inline comment on `line` (start_line for ranges) or the summary."""

    finding: Finding
    line: int | None = None
    start_line: int | None = None
    suggestion_applies: bool = False
    note: str = ""  # why it moved

    @property
    def inline(self) -> bool:
        return self.line is not None


def place_finding(finding: Finding, diffs: dict[str, FileDiff]) -> Placed:
    d = diffs.get(finding.file)
    if d is None:
        return Placed(finding, note=f"{finding.file} is not changed by this change")
    if d.status == "removed" or not d.added:
        return Placed(finding, note=f"{finding.file} has no added lines to comment on")
    first, last = finding.line, finding.last_line
    on_range = sorted(n for n in d.added if first <= n <= last)
    if on_range:
        anchor = on_range[-1]
        same_hunk = d.hunk_of(first) is not None and d.hunk_of(first) == d.hunk_of(last)
        if finding.suggestion and last in d.added and (first == last or same_hunk):
            return Placed(finding, last, first if first < last else None, suggestion_applies=True)
        return Placed(finding, anchor)
    near = [n for n in d.added if first - SNAP_LINES <= n <= last + SNAP_LINES]
    if near:
        anchor = min(near, key=lambda n: (min(abs(n - first), abs(n - last)), n))
        return Placed(finding, anchor, note=f"moved from line {finding.line}")
    return Placed(finding, note=f"line {finding.line} of {finding.file} is not a line this change added")


def place_findings(findings: Sequence[Finding], diffs: Sequence[FileDiff]) -> list[Placed]:
    by_path = {d.path: d for d in diffs}
    return [place_finding(f, by_path) for f in findings]

