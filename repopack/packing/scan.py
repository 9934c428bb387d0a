"""Find secrets in text and redact exactly their characters before anything leaves the machine.

The rules are data (`repopack/data/secret_rules.toml`, loaded by `secret_rules`).  Each rule
names literal keywords that every match contains.  One multi-literal pass over the whole
text (Hyperscan when installed, ~600 MB/s; plain ``bytes.find`` otherwise) finds the lines
holding a keyword; only those lines are matched against the rules' regexes, so a repository
costs about as much as reading it.  A match redacts the rule's `secret` group: never a
prefix only, never other occurrences on the line, never the name beside it.

Generic rules (keyword assignments, URL passwords, `curl -u`, auth headers) name no
provider, so their values must look like credentials: placeholders (`changeme`, `<…>`,
`${VAR}`, `%s`), identifiers, paths, calls, attribute access and the key's own name are
not secrets.

Findings carry path, line, column and type, never the value; the values live only in
``Redaction.values`` (left out of repr and equality) for `repopack.chat.apply`.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from repopack.packing.redaction import (
    MARKER_RE,
    Redaction,
    SecretFinding,
    SecretSpan,
    apply_spans,
    marker,
    restore_secrets,
)
from repopack.packing.secret_rules import FileClass, Rule, RuleSet, file_class, load_rules
from repopack.packing.secret_rules import rules_version as _rules_version

__all__ = ["MARKER_RE", "Redaction", "SecretFinding", "SecretSpan", "find_secrets", "marker", "redact_text",
           "restore_secrets", "rules_version", "verdict_key"]

_PEM_MAX_LINES = 200
_PEM_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{16,}")
_PEM_HEADER_LINE = re.compile(r"^[A-Za-z-]+: .*$")
_PEM_LINE_JUNK = re.compile(r'^[\s"\',|>]*|(?:\\n|[\s"\',+;\\])*$')


# -- the prefilter ----------------------------------------------------------------------

_WINDOW_BEFORE = 120  # a line rule's match starts at most this far before its keyword…
_WINDOW_AFTER = 480  # …and ends at most this far after it (long lines: minified code)


@dataclass(frozen=True)
class _Needle:
    """One thing the prefilter looks for: a literal keyword or an anchor regex."""

    expression: str  # a literal, or a regex when `regex`
    regex: bool
    exact: bool  # case-sensitive


HYPERSCAN_AFTER = 256 * 1024  # bytes scanned in plain Python before the Hyperscan database is compiled


class _Prefilter:
    """All rules' keywords and anchors, found in one pass: (needle index, byte offset where it ends).

    Compiling the Hyperscan database takes about 80 ms, the plain scan about 0.4 s per MB: with
    engine "auto" the first HYPERSCAN_AFTER bytes (a warm pack's few changed files) are scanned
    in Python, then the database is compiled.  Both find the same hits.
    """

    def __init__(self, needles: Sequence[_Needle], engine: str = "auto") -> None:
        self.needles = list(needles)
        self.engine = "python"
        self._scan: Callable[[bytes], list[tuple[int, int]]] = self._scan_python
        self._plain_bytes = 0  # scanned in Python while the database is not compiled yet
        self._deferred = False
        if engine == "auto" and importlib.util.find_spec("hyperscan") is not None:
            self.engine, self._deferred = "hyperscan", True
        elif engine != "python":
            self._compile()

    def _compile(self) -> None:
        self._deferred = False
        try:
            self._scan = self._hyperscan()
            self.engine = "hyperscan"
        except Exception:  # noqa: BLE001 - no wheel for this platform: the plain scan finds the same hits
            self._scan = self._scan_python
            self.engine = "python"

    def _hyperscan(self) -> Callable[[bytes], list[tuple[int, int]]]:
        import hyperscan

        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[(n.expression if n.regex else re.escape(n.expression)).encode() for n in self.needles],
            ids=list(range(len(self.needles))),
            elements=len(self.needles),
            flags=[(0 if n.exact else hyperscan.HS_FLAG_CASELESS) | (hyperscan.HS_FLAG_MULTILINE if n.regex else 0)
                   for n in self.needles],
        )

        def scan(data: bytes) -> list[tuple[int, int]]:
            hits: list[tuple[int, int]] = []
            add = hits.append

            def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
                add((index, end))

            db.scan(data, match_event_handler=on_match)
            return hits

        return scan

    def _scan_python(self, data: bytes) -> list[tuple[int, int]]:
        lowered = data.lower()
        hits: list[tuple[int, int]] = []
        for index, needle in enumerate(self.needles):
            if needle.regex:
                # Every end position at which the anchor matches, like Hyperscan reports them.
                pattern = re.compile(rb"(?=(" + needle.expression.encode() + rb"))", 0 if needle.exact else re.I | re.M)
                hits.extend((index, m.start() + len(m.group(1))) for m in pattern.finditer(data))
                continue
            word = needle.expression.encode()
            view = data if needle.exact else lowered
            position = view.find(word)
            while position != -1:
                hits.append((index, position + len(word)))
                position = view.find(word, position + 1)
        hits.sort(key=lambda hit: hit[1])
        return hits

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        if self._deferred:
            if self._plain_bytes + len(data) <= HYPERSCAN_AFTER:
                self._plain_bytes += len(data)
                return self._scan_python(data)
            self._compile()
        return self._scan(data)


class _Scanner:
    def __init__(self, rules: RuleSet, engine: str = "auto") -> None:
        self.rules = rules
        needles: dict[_Needle, int] = {}
        rules_of: list[list[Rule]] = []
        for rule in rules.rules:
            wanted = ([_Needle(rule.anchor, True, False)] if rule.anchor is not None
                      else [_Needle(word, False, rule.case_sensitive) for word in rule.keywords])
            for needle in wanted:
                if needle not in needles:
                    needles[needle] = len(needles)
                    rules_of.append([])
                rules_of[needles[needle]].append(rule)
        self.prefilter = _Prefilter(list(needles), engine)
        self.order = {rule.id: n for n, rule in enumerate(rules.rules)}
        self.by_id = rules.by_id
        # Per file class: needle index -> the rules it triggers there.
        self.rules_of = {klass: [tuple(r for r in group if rules.applies(r, klass)) for group in rules_of]
                         for klass in FileClass}

    def find(self, path: str, text: str) -> list[SecretSpan]:
        data = text.encode("utf-8", "surrogatepass")
        hits = self.prefilter.scan(data)
        if not hits:
            return []
        rules_of = self.rules_of[file_class(path)]
        # Group hits by line, counting lines incrementally (hits come in offset order).
        by_line: dict[int, tuple[int, list[tuple[Rule, int]]]] = {}  # line -> (byte start, [(rule, byte end)])
        line_index, position, line_start = 0, 0, 0
        for needle, end in hits:
            triggered = rules_of[needle]
            if not triggered:
                continue
            if end > position:
                newlines = data.count(b"\n", position, end)
                if newlines:
                    line_index += newlines
                    line_start = data.rfind(b"\n", 0, end) + 1
                position = end
            entry = by_line.get(line_index)
            if entry is None:
                entry = by_line[line_index] = (line_start, [])
            entry[1].extend((rule, end) for rule in triggered)
        lines: list[str] | None = None
        found: list[tuple[int, SecretSpan]] = []
        for index, (start, rule_hits) in by_line.items():
            stop = data.find(b"\n", start)
            raw = data[start:stop if stop != -1 else len(data)]
            line = raw.decode("utf-8", "surrogatepass")
            ascii_line = len(raw) == len(line)
            windows: dict[str, list[int]] = {}
            for rule, end in rule_hits:
                column = end - start if ascii_line else len(raw[:end - start].decode("utf-8", "surrogatepass"))
                windows.setdefault(rule.id, []).append(column)
            for rule_id, columns in windows.items():
                rule = self.by_id[rule_id]
                order = self.order[rule_id]
                if rule.kind == "pem":
                    if lines is None:
                        lines = text.split("\n")
                    found.extend((order, span) for span in _pem_spans(rule, lines, index))
                elif rule.kind == "assignment":
                    found.extend((order, span) for span in _assignment_spans(rule, line, index, columns))
                else:
                    found.extend((order, span) for span in _line_spans(rule, line, index, columns))
        return _resolve(found)


def _merged_windows(columns: list[int], size: int) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for column in sorted(columns):
        low, high = max(0, column - _WINDOW_BEFORE), min(size, column + _WINDOW_AFTER)
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], high))
        else:
            windows.append((low, high))
    return windows


def _line_spans(rule: Rule, line: str, index: int, columns: list[int]) -> Iterator[SecretSpan]:
    line = line.rstrip("\r")
    seen: set[tuple[int, int]] = set()
    for low, high in _merged_windows(columns, len(line)):
        for match in rule.pattern.finditer(line, low, high):
            if match.end() == high < len(line):  # cut by the window: take the whole match
                match = rule.pattern.match(line, match.start()) or match
            span = rule.secret_span(match)
            if span not in seen:
                seen.add(span)
                if _accept(rule, line[span[0]:span[1]], match):
                    yield SecretSpan(index, span[0], span[1], rule.type)


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_BEFORE_OPERATOR = frozenset(" \t\"'`\\]=:?|>")


def _assignment_spans(rule: Rule, line: str, index: int, columns: list[int]) -> Iterator[SecretSpan]:
    """Each hit ends just after an operator; the name is the token before it."""
    line = line.rstrip("\r")
    done: set[int] = set()
    for column in columns:
        end = min(column, len(line))
        while end > 0 and line[end - 1] in _BEFORE_OPERATOR:
            end -= 1
        if end in done:
            continue
        done.add(end)
        start = end
        while start > 0 and line[start - 1] in _NAME_CHARS:
            start -= 1
        if start == end:
            continue
        match = rule.pattern.match(line, end)
        if match is None:
            continue
        span = rule.secret_span(match)
        if _accept(rule, line[span[0]:span[1]], match, name=line[start:end]):
            yield SecretSpan(index, span[0], span[1], rule.type)


def _accept(rule: Rule, value: str, match: re.Match[str], name: str | None = None) -> bool:
    if not value or len(value) < rule.min_length:
        return False
    if rule.min_entropy and _entropy(value) < _entropy_needed(rule.min_entropy, value):
        return False
    if rule.validate == "private-key-base64" and not _is_base64_private_key(value):
        return False
    return not (rule.generic and _not_a_secret(value, match, name))


def _pem_spans(rule: Rule, lines: list[str], index: int) -> list[SecretSpan]:
    """The body of a private key block that begins on line `index`: one span per line."""
    line = lines[index]
    begin = rule.pattern.search(line)
    if begin is None:
        return []
    rest = line[begin.end():]
    end = _PEM_END.search(rest)
    if end is not None:  # the whole key on one line, e.g. with literal "\n" in a JSON string
        runs = list(_BASE64_RUN.finditer(rest, 0, end.start()))
        if not runs:
            return []
        return [SecretSpan(index, begin.end() + runs[0].start(), begin.end() + runs[-1].end(), rule.type)]
    spans: list[SecretSpan] = []
    head = list(_BASE64_RUN.finditer(rest))
    if head:
        spans.append(SecretSpan(index, begin.end() + head[0].start(), begin.end() + head[-1].end(), rule.type))
    for inner in range(index + 1, min(len(lines), index + 1 + _PEM_MAX_LINES)):
        body = lines[inner].rstrip("\r")
        end = _PEM_END.search(body)
        segment = body[:end.start()] if end else body
        core = _PEM_LINE_JUNK.sub("", segment)
        if core and not _PEM_HEADER_LINE.match(core):
            runs = list(_BASE64_RUN.finditer(segment))
            if not runs or not re.fullmatch(r"[A-Za-z0-9+/=]+(?:\\n)?", core.replace("\\n", "")):
                return []  # not a key body: a mention of the header in code or docs
            spans.append(SecretSpan(inner, runs[0].start(), runs[-1].end(), rule.type))
        if end is not None:
            return spans
    return []  # no END line: a mention of a key, not a key


def _resolve(found: list[tuple[int, SecretSpan]]) -> list[SecretSpan]:
    """Non-overlapping spans in text order; where spans overlap the earlier rule wins."""
    chosen: list[SecretSpan] = []
    taken: dict[int, list[tuple[int, int]]] = {}
    for _order, span in sorted(found, key=lambda item: (item[0], item[1].line, item[1].start)):
        ranges = taken.setdefault(span.line, [])
        if any(span.start < end and start < span.end for start, end in ranges):
            continue
        ranges.append((span.start, span.end))
        chosen.append(span)
    return sorted(chosen, key=lambda s: (s.line, s.start))


# -- value checks ------------------------------------------------------------------------

_PLACEHOLDER_WORDS = frozenset(
    """secret secrets password passwd passphrase pass pwd pw token tokens key apikey api_key changeme change_me
    changeit example sample dummy test testing fake none null nil true false undefined empty default todo fixme
    redacted hidden masked placeholder value string str your_password mypassword my_password foobar foo bar baz
    admin root user username letmein qwerty asdf""".split()
)
# Parts that make a value a stand-in; a value that is only a placeholder word may spell it with
# digits for letters (s3cr3t, p@ssw0rd).
_PLACEHOLDER_SYNTAX = ("xxxx", "****", "...", "<", ">", "${", "{{", "}}", "{}", "$(", "os.environ",
                       "process.env", "getenv", "env(", "env[", "env.")
_FORMAT_SPEC = re.compile(r"%\(\w+\)[sdr]|%[sd](?:$|[\s@:/,.])|\{\w*(?:![rsa])?(?::[^}]*)?\}")
_PLACEHOLDER_PARTS = (
    "example", "changeme", "change_me", "change-me", "placeholder", "your_", "your-",
    "yourpass", "yoursecret", "yourtoken", "redacted", "dummy", "insert", "replace_", "replace-", "fill_in",
    "fillme", "not_a_", "not-a-", "notasecret", "fake", "bogus", "sample", "test", "qwerty", "letmein", "abc123",
    "123456",
)
_LEET = str.maketrans("013457@$!", "oieastasi")
_WORD_SALAD = re.compile(r"(?:foo|bar|baz|qux|pass|word|user|name|admin|root|test|secret|key|token|pwd|pw|my|the|"
                         r"some|new|old|other|wrong|bad|good|valid|invalid|[0-9])+")
_LETTERS = re.compile(r"[^\W\d]+(?:[_-][^\W\d]+)*")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_ATTRIBUTE = re.compile(r"[A-Za-z_$]+(?:(?:\.|::|->)[A-Za-z_$]+)+(?:\(.*|\[.*)?")
_WINDOWS_VAR = re.compile(r"%\w+%")
_CALL = re.compile(r"[A-Za-z_$][\w$.]*\(")
_FILE_NAME = re.compile(r"[\w.-]+\.(?:txt|json|pem|key|crt|cer|yaml|yml|env|cfg|conf|ini|toml|py|js|ts|html|log|"
                        r"db|sqlite3?|csv|xml|md|rst|sh|p12|pfx|jks|gpg|asc|pub)")
_PATH = re.compile(r"[\w.@~-]*(?:/[\w.@-]*)+")
_NUMBER = re.compile(r"[+-]?[\d_.,:]+[a-z]{0,2}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_PASSWORD_HASH = re.compile(r"(?:pbkdf2_sha\d+|argon2\w*|bcrypt\w*|sha1|md5|crypt|scrypt|unsalted_\w+)\$")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zyxwvutsrqponmlkjihgfedcba")
_NOT_SECRET_NAME = re.compile(
    r"(?:^|_)(?:names?|fields?|labels?|prompts?|messages?|msg|texts?|help|types?|kinds?|files?|filenames?|"
    r"paths?|urls?|uris?|endpoints?|dirs?|length|len|size|count|min|max|formats?|patterns?|regex|templates?|"
    r"class(?:es)?|modes?|policy|policies|headers?|params?|ids?|hash(?:es|ers?)?|validators?|backends?|methods?|"
    r"views?|forms?|required|reset|confirm(?:ation)?|changed?|expiry|expires?|timeout|ttl|age|algorithms?|"
    r"generators?|lifetime|limit|prefix|suffix|style|version|enabled?|disabled|query|column|env|var|vars|"
    r"variable|schemes?|location|provider|handler|loader|ref|source|storage|store|cache|strategy|input|"
    r"placeholder|description|hint|widget|serializer|encoder|decoder|parser|list|set|map|dict|keys|"
    r"fmt|re|lookup|attr|attribute|property|option|options|flags?|settings?|config|hasher|"
    r"exception|error|errors|invalid|missing|valid|expired|mismatch|ui|css|xpath|selector|icon|color|colour|"
    r"bytes|bits|rounds|iterations|user|username|login|email|account|owner|author|startswith|endswith|"
    r"contains|icontains|exact|iexact|isnull|in|gt|gte|lt|lte|regex|count|sent|used|at|on|by|date|time)$"
    r"|(?:^|_)(?:test|tests|example|examples|dummy|fake|mock|sample|fixture|bad|wrong|invalid|is|has|get|set|"
    r"check|validate|verify|make|create|generate|use|show|hide|toggle|no|not|without|old|unusable)(?:_|$)",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_NAME = re.compile(r"password|passwd|passphrase|secret|token|apikey|accesskey|privatekey|signingkey|clientkey|"
                       r"keydata|credential|masterkey|encryptionkey|authkey|sessionkey|hmackey|appkey|"
                       r"secretkey|licensekey|(?:^|_)(?:pass|pwd|pw|auth|key)(?:_|$)")


def _not_a_secret(value: str, match: re.Match[str], name: str | None = None) -> bool:
    """True when a generic rule's value is a placeholder, identifier, path, call or the key's own name."""
    groups = match.re.groupindex
    if name is None and "name" in groups:
        name = match.group("name")
    user = match.group("user") if "user" in groups else None
    if name is not None and not _is_secret_name(name):
        return True
    low = value.lower()
    if len(value) < 4 or low in _PLACEHOLDER_WORDS:
        return True
    if low.translate(_LEET) in _PLACEHOLDER_WORDS:
        return True  # p@ssw0rd, s3cr3t
    if any(part in low for part in _PLACEHOLDER_SYNTAX) or _FORMAT_SPEC.search(value):
        return True
    if any(part in low for part in _PLACEHOLDER_PARTS):
        return True
    quoted = "q" in groups and bool(match.group("q"))
    if value[0] in "${<" or (not quoted and value[0] in "@[(:#") or _WINDOWS_VAR.fullmatch(value):
        return True  # $VAR, ${VAR}, %VAR%, <your key>, @ref, a comment, an expression
    if value[0] in "&*!" and _LETTERS.fullmatch(value[1:]):
        return True  # YAML anchors, aliases and tags
    core = value.strip()
    if _LETTERS.fullmatch(core) and not _random_letters(core) and not _passphrase(core):
        return True  # a word or an identifier, not a credential
    if _CONSTANT.fullmatch(value) or _ATTRIBUTE.fullmatch(value) or _CALL.match(value):
        return True  # a word or an identifier, not a credential
    if _NUMBER.fullmatch(value) or _FILE_NAME.fullmatch(low) or _UUID.fullmatch(value) or _PASSWORD_HASH.match(low):
        return True
    if "://" in value or (_PATH.fullmatch(value) and _entropy(value) < 4.3):
        return True  # a URL or a path
    if " " in value.strip():
        return True  # prose: "Enter your password"
    alnum = re.sub(r"[^a-z0-9]", "", low)
    if len(set(low)) <= 3 or _WORD_SALAD.fullmatch(alnum or "x") is not None:
        return True
    if any(low[i:i + 6] in sequence for sequence in _SEQUENCES for i in range(len(low) - 5)):
        return True  # abcdefgh, 1234567
    if user is not None and value == user:
        return True
    if name is not None:
        bare = re.sub(r"[^a-z0-9]", "", name.lower())
        if alnum and (alnum in bare or bare in alnum):
            return True  # password1_field_name = "password1"
    return False


def _random_letters(value: str) -> bool:
    """Letters only, but random rather than words: case changes far more often than camelCase does."""
    if len(value) < 16 or not value.isalpha():
        return False
    bumps = sum(1 for a, b in zip(value, value[1:], strict=False) if a.islower() and b.isupper())
    return bumps >= len(value) / 5 and _entropy(value) >= 3.8


def _passphrase(value: str) -> bool:
    """correct-horse-battery-staple: three or more words joined by hyphens."""
    return len(value) >= 15 and value.count("-") >= 2 and "_" not in value


def _is_secret_name(name: str) -> bool:
    """Does an assignment's name say it holds a credential (not a file, a field name, a length…)?"""
    words = re.sub(r"[.-]+", "_", _CAMEL.sub("_", name)).lower().strip("_")
    words = re.sub(r"_+", "_", words)
    if _NOT_SECRET_NAME.search(words):
        return False
    return _KEY_NAME.search(words) is not None or _KEY_NAME.search(words.replace("_", "")) is not None


def _entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _entropy_needed(minimum: float, value: str) -> float:
    """Hex has 4 bits per character at most, base64 6: the threshold scales with the alphabet."""
    if re.fullmatch(r"[0-9a-fA-F]+", value):
        return minimum * 4 / 6 + 0.5
    return minimum


def _is_base64_private_key(value: str) -> bool:
    try:
        decoded = base64.b64decode(value[: len(value) - len(value) % 4] or value, validate=False)
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY" in decoded


# -- public API -----------------------------------------------------------------------------


@cache
def _scanner() -> _Scanner:
    return _Scanner(load_rules())


def rules_version() -> str:
    return _rules_version()


def engine() -> str:
    """Which keyword engine runs here: "hyperscan" or "python"."""
    return _scanner().prefilter.engine


def verdict_key(digest: str, path: str) -> str:
    """What a scan verdict depends on: the content, and the one thing about the path the rules read."""
    return f"{digest}:{file_class(path).value}"


def find_secrets(path: str, text: str) -> list[SecretSpan]:
    """The secrets in `text` (the contents of `path`), as non-overlapping spans in text order."""
    return _scanner().find(path, text)


def redact_text(path: str, text: str) -> Redaction:
    """Replace every secret in ``text`` (the contents of ``path``) with a marker."""
    return apply_spans(path, text, find_secrets(path, text))
