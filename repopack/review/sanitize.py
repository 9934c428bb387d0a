"""Text that crosses the GitHub boundary, in both directions.

Coming in, a pull request's title and description are written by whoever opened it and go
to the model: they are redacted like files are (`repopack.packing.scan.redact_text`), and then
for generic credential assignments that prose carries unquoted (``password: hunter2``,
``token=abc…``), which a code scanner's rules need quotes or a config file to see.

Going out, text a model wrote is posted where people get notified: it is neutralised
before it reaches GitHub.  Outside code blocks and code spans, ``@name``, ``@org/team``,
``@everyone`` and ``@here`` are put in code spans (no notification), images (which load
by themselves) become their alt text, raw HTML is shown as text (``<img>``, ``<picture>``,
forged ``<!-- … -->`` markers), and character references that could spell an ``@`` are
escaped.  Fields are cut to a length cap.  Code blocks, suggestion blocks included, are
kept byte for byte.

Known credentials (the GitHub token, the model key) are scrubbed from both directions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from repopack.packing.redaction import MARKER_RE, marker

KEYWORD_TYPE = "Secret Keyword"
GITHUB_COMMENT_LIMIT = 65_536  # GitHub refuses longer comment bodies
COMMENT_CAP = 60_000  # what repopack posts at most, leaving room for its own lines
SUMMARY_CAP = 20_000  # the model's summary
BODY_CAP = 6_000  # one finding's text
TITLE_CAP = 200  # one finding's title (one line)

# `password: x`, `DB_PASSWORD=x`, `api key = "x"` in prose.
_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<key>\b[\w.-]*(?:password|passwd|pwd|secret|token|api[\s_-]?key|apikey|access[\s_-]?key|private[\s_-]?key
        |client[\s_-]?secret|credentials?)[\w.-]*)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"'`<>]{4,})
    """
)
_CREDENTIAL_ENV = {"GITHUB_TOKEN": "GitHub Token", "GH_TOKEN": "GitHub Token", "OPENAI_API_KEY": "API Key"}
_NOT_A_VALUE = re.compile(r"(?i)^(?:\$|\*+$|x+$|\.\.\.|<|none$|null$|nil$|true$|false$|empty$|required$|optional$"
                          r"|changed?$|removed?$|redacted|example$|placeholder$|your[_-])")


def redact_pr_text(label: str, text: str, known: Mapping[str, str] | None = None) -> str:
    """A pull request's title or description as the model may see it."""
    from repopack.packing.scan import redact_text

    redacted = redact_text(label, text).text

    def _value(match: re.Match[str]) -> str:
        value = match.group("value")
        already = MARKER_RE.match(match.string, match.start("value"))  # the scanner's marker, cut at its space
        if already or MARKER_RE.search(value) or _NOT_A_VALUE.match(value):
            return match.group(0)
        return match.group("key") + match.group("sep") + match.group("quote") + marker(KEYWORD_TYPE)

    return scrub_known(_ASSIGNMENT.sub(_value, redacted), known)


def known_credentials(*extra: str | None) -> dict[str, str]:
    """The credentials this process holds (value -> type): they never go into a prompt or a comment."""
    import os

    known = {os.environ.get(name, ""): kind for name, kind in _CREDENTIAL_ENV.items()}
    known.update({value: "API Key" for value in extra if value})
    return {value: kind for value, kind in known.items() if value}


def scrub_known(text: str, known: Mapping[str, str] | None) -> str:
    """Replace every occurrence of a known credential value (value -> its type) by a marker."""
    for value, kind in (known or {}).items():
        if value and len(value) >= 8 and value in text:
            text = text.replace(value, marker(kind))
    return text


# --- outgoing -------------------------------------------------------------------------------------------
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])?")
_HTML = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_MENTION = re.compile(r"(?<![\w`@/.+-])@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9_.-]+)?)")


def close_fences(text: str) -> str:
    """`text` with a code fence it leaves open closed, so what follows it stays prose."""
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            match = _FENCE.match(line)
            if match is not None:
                fence = match.group(1)
        else:
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fence = None
    return f"{text}\n{fence}" if fence else text


def cap(text: str, limit: int) -> str:
    """At most about `limit` characters (a note says where it was cut), fences closed."""
    if len(text) <= limit:
        return close_fences(text)
    return close_fences(text[:limit].rstrip()) + f"\n\n(cut at {limit:,} characters)"


def single_line(text: str, limit: int = TITLE_CAP) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _prose(text: str, keep: re.Pattern[str] | None) -> str:
    """Neutralise a stretch outside code, leaving `keep` matches (repopack's own markers) alone."""
    pieces: list[str] = []
    last = 0
    for match in keep.finditer(text) if keep is not None else ():
        pieces.append(_neutral(text[last:match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_neutral(text[last:]))
    return "".join(pieces)


def _neutral(text: str) -> str:
    text = _ENTITY.sub("&amp;", text)
    text = _IMAGE.sub(lambda m: f"{m.group(1) or 'image'} (image not shown)", text)
    text = text.replace("![", "!\\[")
    text = _HTML.sub("&lt;", text)
    return _MENTION.sub(lambda m: f"`@{m.group(1)}`", text)


def _line_outside_code(line: str, keep: re.Pattern[str] | None) -> str:
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(line):
        out.append(_prose(line[last:match.start()], keep))
        out.append(match.group(0))
        last = match.end()
    out.append(_prose(line[last:], keep))
    return "".join(out)


def neutralise(text: str, keep: re.Pattern[str] | None = None) -> str:
    """GitHub Markdown that notifies nobody and loads nothing; code blocks and code spans unchanged."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fence = None
            out.append(line)
            continue
        match = _FENCE.match(line)
        if match is not None:
            fence = match.group(1)
            out.append(line)
            continue
        out.append(_line_outside_code(line, keep))
    return "\n".join(out)
