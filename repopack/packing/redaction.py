"""Redaction records: where secrets were, what kind, and (hidden) how to put them back.

Kept apart from the scanner in `repopack.packing.scan` so that code which only reads or
restores redactions (cached packs, apply) does not load the rules.

A secret is a span of one line: (line, start, end) in the original text, in characters.
Redacting replaces exactly those characters with ``[REDACTED:<type>]``; nothing else on
the line changes and no line is added or removed, so line numbers still point at the file.
A multi-line credential (a PEM key body) is one span per line.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

MARKER_RE = re.compile(r"\[REDACTED:([^\]\n]{1,60})\]")
MULTILINE_TYPES = frozenset({"Private Key"})  # credentials whose spans on consecutive lines are one finding


@dataclass(frozen=True)
class SecretFinding:
    """Where a secret was and what kind it was; never its value.  `line` is 1-based,
    `column` the 1-based character column of its first character (0: unknown)."""

    path: str
    line: int
    type: str
    column: int = field(default=0, compare=False)  # 1-based; 0: unknown (not part of identity)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.type}"


@dataclass(frozen=True)
class SecretSpan:
    """One redacted span: 0-based line, character columns [start, end) in the original line."""

    line: int
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Redaction:
    """Redacted text, its findings, and (hidden) the spans and values needed to restore it.

    ``spans`` are in text order; ``values[i]`` is the original text of ``spans[i]``.  A
    Redaction built from a cached verdict has spans but no values.
    """

    text: str
    findings: tuple[SecretFinding, ...] = ()
    spans: tuple[SecretSpan, ...] = ()
    values: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def redacted(self) -> bool:
        return bool(self.findings)

    @property
    def secret_values(self) -> Mapping[str, tuple[str, ...]]:
        """Secret type -> the original values of that type, in marker order."""
        by_type: dict[str, list[str]] = defaultdict(list)
        for span, value in zip(self.spans, self.values, strict=False):
            by_type[span.type].append(value)
        return MappingProxyType({k: tuple(v) for k, v in by_type.items()})

    def markers_by_line(self) -> dict[int, list[tuple[str, str]]]:
        """0-based line -> [(type, original value)] of its markers, left to right."""
        out: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for span, value in zip(self.spans, self.values, strict=False):
            out[span.line].append((span.type, value))
        return dict(out)


def marker(secret_type: str) -> str:
    return f"[REDACTED:{secret_type}]"


def apply_spans(path: str, text: str, spans: Iterable[SecretSpan], *, keep_values: bool = True) -> Redaction:
    """Redact `text` at `spans` (sorted, non-overlapping, each within one line)."""
    ordered = sorted(spans, key=lambda s: (s.line, s.start))
    if not ordered:
        return Redaction(text=text)
    # Split on "\n" only: the line numbers must agree with git, editors and diffs.
    lines = text.split("\n")
    by_line: dict[int, list[SecretSpan]] = defaultdict(list)
    for span in ordered:
        by_line[span.line].append(span)
    values: list[str] = []
    findings: list[SecretFinding] = []
    previous: SecretSpan | None = None
    for index, line_spans in by_line.items():
        line = lines[index]
        pieces: list[str] = []
        position = 0
        for span in line_spans:
            pieces.append(line[position:span.start])
            pieces.append(marker(span.type))
            values.append(line[span.start:span.end])
            # A key body is one span per line but one finding.
            continued = (previous is not None and span.type in MULTILINE_TYPES and previous.type == span.type
                         and previous.line == index - 1)
            if not continued:
                findings.append(SecretFinding(path, index + 1, span.type, span.start + 1))
            previous = span
            position = span.end
        pieces.append(line[position:])
        lines[index] = "".join(pieces)
    return Redaction(text="\n".join(lines), findings=tuple(findings), spans=tuple(ordered),
                     values=tuple(values) if keep_values else ())


def valid_spans(text: str, spans: Iterable[SecretSpan]) -> bool:
    """Do `spans` fit `text` (in range, ordered, not overlapping)?  For spans read back from a cache."""
    lines = text.split("\n")
    last = (-1, 0)
    for span in spans:
        if not (0 <= span.line < len(lines) and 0 <= span.start < span.end <= len(lines[span.line])):
            return False
        if (span.line, span.start) < last:
            return False
        last = (span.line, span.end)
    return True


def restore_secrets(new_text: str, redaction: Redaction) -> str:
    """Put original values back where ``new_text`` still carries markers.

    The n-th marker of a type gets the n-th original value of that type; markers
    beyond the known values (or of unknown types) are left as they are.  This is for
    text that keeps the packed layout; `repopack.chat.apply` restores by position.
    """
    values_by_type = redaction.secret_values
    if not values_by_type:
        return new_text
    seen: dict[str, int] = defaultdict(int)

    def _replace(match: re.Match[str]) -> str:
        secret_type = match.group(1)
        values = values_by_type.get(secret_type, ())
        n = seen[secret_type]
        seen[secret_type] += 1
        return values[n] if n < len(values) else match.group(0)

    return MARKER_RE.sub(_replace, new_text)


def report_lines(findings: Iterable[SecretFinding], group_of: Callable[[str], str], *, limit: int = 5,
                 see: str = "--manifest") -> list[str]:
    """What to tell the user about redactions, never a value: one summary line, then up to
    `limit` locations (one line per file:line, its types), then how many more there are.

        redacted 12 secrets in 7 files: 5 AWS, 3 GitHub, 4 password; see --manifest
        secret redacted: app/settings.py:3 (AWS Access Key, AWS Secret Key)
    """
    findings = list(findings)
    if not findings:
        return []
    groups = Counter(group_of(f.type) for f in findings)
    files = {f.path for f in findings}
    kinds = ", ".join(f"{n} {g}" for g, n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])))
    noun = "secret" if len(findings) == 1 else "secrets"
    where = f"; see {see}" if see else ""
    lines = [f"redacted {len(findings)} {noun} in {len(files)} file{'s' if len(files) != 1 else ''}: {kinds}{where}"]
    by_location: dict[tuple[str, int], list[str]] = {}
    for f in findings:
        types = by_location.setdefault((f.path, f.line), [])
        if f.type not in types:
            types.append(f.type)
    for (path, line), types in list(by_location.items())[:limit]:
        lines.append(f"secret redacted: {path}:{line} ({', '.join(types)})")
    if len(by_location) > limit:
        lines.append(f"secret redacted: … and {len(by_location) - limit} more locations" + (f" ({see})" if see else ""))
    return lines
