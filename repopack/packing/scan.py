"""Find secrets in text and redact them in place before anything leaves the machine.

detect-secrets supplies the detectors; this module decides which of its plugins run
and makes them cheap enough for a whole repository.  Running every plugin on every
line costs about a millisecond per line, so one compiled prefilter regex (the union of
what any enabled plugin could match) first picks candidate lines from the whole text,
and only those go through the plugins.

Each secret becomes ``[REDACTED:<type>]`` on its own line, so the redacted text has
exactly as many lines as the original: line numbers in findings, rendered files and
the model's diffs still point at the real file.  A private key keeps its BEGIN/END
lines and has each body line replaced by a marker.

The original values live only in ``Redaction.secret_values`` (left out of repr and
equality) so `restore_secrets` and `repopack.chat.apply` can put them back; findings carry
path, line and type, never the value.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from detect_secrets.filters import heuristic
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    REGEX_BY_FILETYPE,
    KeywordDetector,
)
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.util.filetype import determine_file_type

from repopack.packing.redaction import MARKER_RE, Redaction, SecretFinding, marker, restore_secrets

# Random base64 of 32 chars has a median entropy of ~4.56 bits/char, English-ish
# identifiers stay below ~4.3.  Demanding both length and entropy keeps ordinary
# strings (class names, URLs without dots, test data) out; keyword assignments and the
# token-specific plugins catch shorter secrets.
ENTROPY_MIN_LENGTH = 32
ENTROPY_LIMIT = 4.5

__all__ = ["MARKER_RE", "Redaction", "SecretFinding", "marker", "redact_text", "restore_secrets"]

_AWS = AWSKeyDetector()
_PRIVATE_KEY = PrivateKeyDetector()
_GITHUB = GitHubTokenDetector()
_GITLAB = GitLabTokenDetector()
_SLACK = SlackDetector()
_STRIPE = StripeDetector()
_OPENAI = OpenAIDetector()
_JWT = JwtTokenDetector()
_BASIC_AUTH = BasicAuthDetector()
_PYPI = PypiTokenDetector()
_NPM = NpmDetector()
_SENDGRID = SendGridDetector()
_KEYWORD = KeywordDetector()
_ENTROPY = Base64HighEntropyString(limit=ENTROPY_LIMIT)

_PLUGINS: dict[str, BasePlugin] = {
    plugin.secret_type: plugin
    for plugin in (_AWS, _PRIVATE_KEY, _GITHUB, _GITLAB, _SLACK, _STRIPE, _OPENAI, _JWT, _BASIC_AUTH,
                   _PYPI, _NPM, _SENDGRID, _KEYWORD, _ENTROPY)
}
# Overlapping findings take the type of the most specific plugin.
_PRIORITY = {_KEYWORD.secret_type: 1, _ENTROPY.secret_type: 2}


@dataclass(frozen=True)
class _Prefilter:
    """A cheap pattern; a line it matches goes through ``plugin`` (None: key blocks).

    ``needles``: the pattern runs only when one of them is in the text (a memmem scan
    at GB/s; most files contain none of these rare literals).  ``view`` says which
    bytes it scans: "raw", "lower" (keywords are case-insensitive; (?i) is ~10x
    slower), or "reversed" lowercased bytes, for names like "…_?key" that would
    otherwise start with a class of common letters and make the engine crawl.
    """

    pattern: re.Pattern[bytes]
    plugin: BasePlugin | None
    needles: tuple[bytes, ...] = ()
    view: str = "raw"


def _pf(pattern: bytes, plugin: BasePlugin | None, *needles: bytes, view: str = "raw") -> _Prefilter:
    return _Prefilter(re.compile(pattern), plugin, needles, view)


# Everything an enabled plugin could match, as separate literal-led patterns: one big
# alternation scans at ~5 MB/s, these together at ~50 MB/s.  A line none of them
# matches cannot produce a finding, so the plugins (~80 us/line) never see it.
_PREFILTERS: tuple[_Prefilter, ...] = (
    _pf(rb"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}", _AWS, b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"),
    _pf(rb"aws", _AWS, view="lower"),
    _pf(rb"PRIVATE KEY|PuTTY-User-Key-File", None, b"PRIVATE KEY", b"PuTTY-User-Key-File"),
    _pf(rb"gh[pousr]_", _GITHUB, b"gh"),
    _pf(rb"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941", _GITLAB,
        *(b"gl%s-" % kind for kind in (b"pat", b"dt", b"ft", b"soat", b"rt", b"cbt", b"imt", b"ptt", b"agent", b"oas")),
        b"GR1348941"),
    _pf(rb"xox[aboprs]-|hooks\.slack\.com", _SLACK, b"xox", b"hooks.slack.com", view="lower"),
    _pf(rb"[rs]k_live_", _STRIPE, b"k_live_"),
    _pf(rb"T3BlbkFJ", _OPENAI, b"T3BlbkFJ"),
    _pf(rb"eyJ", _JWT, b"eyJ"),
    _pf(rb"://[^\s/@]+:[^\s/@]*@", _BASIC_AUTH, b"://"),
    _pf(rb"pypi-Ag", _PYPI, b"pypi-Ag"),
    _pf(rb"_authToken", _NPM, b"_authToken"),
    _pf(rb"SG\.", _SENDGRID, b"SG."),
    # detect_secrets.plugins.keyword.DENYLIST, split so each pattern starts with a
    # literal (a test checks they agree).
    _pf(rb"passw(?:or)?d", _KEYWORD, view="lower"),
    _pf(rb"pwd", _KEYWORD, b"pwd", view="lower"),
    _pf(rb"secret", _KEYWORD, view="lower"),
    _pf(rb"contrase", _KEYWORD, b"contrase", view="lower"),
    _pf(rb"yek_?(?:ipa|htua|ecivres|tnuocca|bd|esabatad|virp|etavirp|tneilc)", _KEYWORD, view="reversed"),
    _pf(rb"ssap_?(?:bd|esabatad|yek)", _KEYWORD, view="reversed"),
    # Two literal-led patterns scan ~5x faster than one starting with ['"].
    _pf(rb'"[A-Za-z0-9+/\\_=-]{%d,}"' % ENTROPY_MIN_LENGTH, _ENTROPY, b'"'),
    _pf(rb"'[A-Za-z0-9+/\\_=-]{%d,}'" % ENTROPY_MIN_LENGTH, _ENTROPY, b"'"),
)
_BEGIN_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
_END_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
_MAX_KEY_LINES = 200


def redact_text(path: str, text: str) -> Redaction:
    """Replace every secret in ``text`` (the contents of ``path``) with a marker."""
    candidates = _candidate_lines(text)
    if not candidates:
        return Redaction(text=text)
    # Split on "\n" only: the line numbers must agree with git, editors and diffs.
    lines = text.split("\n")
    key_lines = _private_key_body_lines(lines, (i for i, plugins in candidates.items() if None in plugins))
    keyword_groups = REGEX_BY_FILETYPE.get(determine_file_type(path), QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    scan_entropy = not heuristic.is_lock_file(path)

    findings: list[SecretFinding] = []
    ordered: list[tuple[str, str]] = []  # (type, value) in marker order
    for index in sorted(candidates | key_lines.keys()):
        line = lines[index]
        if index in key_lines:
            body, ending = _split_ending(line)
            if body.strip():
                ordered.append((_PRIVATE_KEY.secret_type, body))
                lines[index] = marker(_PRIVATE_KEY.secret_type) + ending
            begin = key_lines[index]
            if begin is not None:
                findings.append(SecretFinding(path, begin + 1, _PRIVATE_KEY.secret_type))
            continue
        spans = _find_spans(line.rstrip("\r"), candidates[index], keyword_groups, scan_entropy)
        if not spans:
            continue
        pieces: list[str] = []
        position = 0
        for start, end, secret_type in spans:
            pieces.append(line[position:start])
            pieces.append(marker(secret_type))
            ordered.append((secret_type, line[start:end]))
            findings.append(SecretFinding(path, index + 1, secret_type))
            position = end
        pieces.append(line[position:])
        lines[index] = "".join(pieces)

    if not findings:
        return Redaction(text=text)
    values: dict[str, list[str]] = defaultdict(list)
    for secret_type, value in ordered:
        values[secret_type].append(value)
    return Redaction(
        text="\n".join(lines),
        findings=tuple(findings),
        secret_values=MappingProxyType({k: tuple(v) for k, v in values.items()}),
    )


def _candidate_lines(text: str) -> dict[int, set[str | None]]:
    """0-based line index -> secret types of the plugins whose prefilter matched there.

    Works on UTF-8 bytes: bytes.lower() is ASCII-only and runs at GB/s, and b"\n"
    counts give the same line numbers as the text.
    """
    data = text.encode("utf-8", "surrogatepass")
    lowered = data.lower()
    views = {"raw": data, "lower": lowered, "reversed": lowered[::-1]}
    last = len(data) - 1
    hits: list[tuple[int, str | None]] = []
    for prefilter in _PREFILTERS:
        view = views[prefilter.view]
        if prefilter.needles and not any(needle in view for needle in prefilter.needles):
            continue
        name = prefilter.plugin.secret_type if prefilter.plugin else None
        if prefilter.view == "reversed":
            hits.extend((last - m.start(), name) for m in prefilter.pattern.finditer(view))
        else:
            hits.extend((m.start(), name) for m in prefilter.pattern.finditer(view))
    found: dict[int, set[str | None]] = {}
    position = 0
    index = 0
    for start, plugin in sorted(hits, key=lambda hit: hit[0]):
        index += data.count(b"\n", position, start)
        position = start
        found.setdefault(index, set()).add(plugin)
    return found


def _private_key_body_lines(lines: list[str], candidates: Iterable[int]) -> dict[int, int | None]:
    """Body lines of private key blocks; the first of each maps to its BEGIN line."""
    body: dict[int, int | None] = {}
    for index in sorted(candidates):
        if index >= len(lines) or index in body or not _BEGIN_KEY.search(lines[index]):
            continue
        block: dict[int, int | None] = {}
        for inner in range(index + 1, min(len(lines), index + 1 + _MAX_KEY_LINES)):
            if _END_KEY.search(lines[inner]):
                break
            block[inner] = None if block else index
        else:
            continue  # no END line: a mention of a key, not a key
        body.update(block)
    return body


def _find_spans(
    line: str,
    secret_types: set[str | None],
    keyword_groups: dict[re.Pattern[str], int],
    scan_entropy: bool,
) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans of secrets on one line, left to right."""
    hits: list[tuple[str, BasePlugin]] = []
    for secret_type in secret_types:
        if secret_type is None:
            continue
        plugin = _PLUGINS[secret_type]
        if plugin is _KEYWORD:
            values = _KEYWORD.analyze_string(line, denylist_regex_to_group=keyword_groups)
        elif plugin is _ENTROPY:
            if not scan_entropy:
                continue
            values = (
                value
                for value in _ENTROPY.analyze_string(line)
                if len(value) >= ENTROPY_MIN_LENGTH and _ENTROPY.calculate_shannon_entropy(value) > ENTROPY_LIMIT
            )
        else:
            values = plugin.analyze_string(line)
        hits.extend((value, plugin) for value in values)

    spans: list[tuple[int, int, str]] = []
    for value, plugin in hits:
        if not value or _is_false_positive(value, line, plugin):
            continue
        start = line.find(value)
        while start != -1:
            spans.append((start, start + len(value), plugin.secret_type))
            start = line.find(value, start + len(value))
    return _merge_spans(spans)


def _is_false_positive(value: str, line: str, plugin: BasePlugin) -> bool:
    if isinstance(plugin, RegexBasedDetector):
        return False
    return (
        heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_indirect_reference(line)
        or heuristic.is_sequential_string(value)
        or heuristic.is_potential_uuid(value)
        or heuristic.is_likely_id_string(value, line, plugin)
        or heuristic.is_not_alphanumeric_string(value)
    )


def _merge_spans(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans become one, typed by the most specific plugin among them."""
    merged: list[tuple[int, int, str]] = []
    for start, end, secret_type in sorted(spans):
        if merged and start < merged[-1][1]:
            m_start, m_end, m_type = merged[-1]
            best = m_type if _PRIORITY.get(m_type, 0) <= _PRIORITY.get(secret_type, 0) else secret_type
            merged[-1] = (m_start, max(m_end, end), best)
        else:
            merged.append((start, end, secret_type))
    return merged


def _split_ending(line: str) -> tuple[str, str]:
    body = line.rstrip("\r")
    return body, line[len(body):]


def scan_many(items: list[tuple[str, str]]) -> list[tuple[str, tuple[SecretFinding, ...]] | bool]:
    """Verdicts for (path, text) pairs: True when clean, else (redacted text, findings).

    The unit of work of a helper process, so it lives in this light module: the helper
    imports only the scanner, not the whole pipeline.
    """
    out: list[tuple[str, tuple[SecretFinding, ...]] | bool] = []
    for path, text in items:
        red = redact_text(path, text)
        out.append((red.text, red.findings) if red.redacted else True)
    return out


def warm_up() -> bool:
    """Run in a helper process before its real work, so its imports overlap the caller's walk."""
    return bool(_PREFILTERS)
