"""File names as repopack shows them: any byte string, under a visible and reversible escape.

A path is bytes on disk.  Names that are valid UTF-8 without control characters are shown as
they are.  Any other name is escaped: each byte that is not part of valid UTF-8, and each byte
of a control or bidirectional-override character, becomes `\\xNN`, and a backslash becomes
`\\\\` (so `latin1_\\xe9.py` is the file whose name has the byte 0xE9).  A valid name that
would read as an escape (`a\\\\b`, `x\\x41`) is escaped too, which keeps the mapping one-to-one:
`raw_name(display_name(b)) == b` for every `b`.  Names without a backslash, the common case,
cost one `str` check.
"""

from __future__ import annotations

import os
import re

_ESCAPE = re.compile(r"\\(?:\\|x[0-9a-f]{2})")
_ESCAPED_FORM = re.compile(r"(?:[^\\]|\\\\|\\x[0-9a-f]{2})*", re.DOTALL)
# Control characters, C1 controls and bidirectional overrides (which can make a name read as
# another one) are escaped too.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _unescape(display: str) -> bytes | None:
    """The bytes an escaped display name stands for, or None if it is not one."""
    if not _ESCAPED_FORM.fullmatch(display):
        return None
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(display):
        out += display[last:m.start()].encode("utf-8")
        token = m.group()
        out += b"\\" if token == "\\\\" else bytes([int(token[2:], 16)])
        last = m.end()
    out += display[last:].encode("utf-8")
    return bytes(out)


def display_name(raw: bytes) -> str:
    """The name repopack shows (in trees, manifests, prompts and diffs) for a raw path."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text) and ("\\" not in text or _unescape(text) is None):
        return text
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x5C:
            out.append("\\\\")
            i += 1
            continue
        # The UTF-8 character starting here (1-4 bytes), else one escaped byte.
        for size in (1, 2, 3, 4):
            try:
                char = raw[i:i + size].decode("utf-8")
            except UnicodeDecodeError:
                continue
            out.append("".join(f"\\x{c:02x}" for c in raw[i:i + size]) if _CONTROL.match(char) else char)
            i += size
            break
        else:
            out.append(f"\\x{b:02x}")
            i += 1
    return "".join(out)


def raw_name(display: str) -> bytes:
    """The raw bytes of a displayed name (the inverse of `display_name`)."""
    if "\\" not in display:
        return display.encode("utf-8", "surrogateescape")
    raw = _unescape(display)
    return raw if raw is not None else display.encode("utf-8", "surrogateescape")


def fs_name(display: str) -> str:
    """A displayed path as the `str` the os functions take for it (undecodable bytes as
    surrogates, like `os.fsdecode`)."""
    if "\\" not in display:
        return display
    return os.fsdecode(raw_name(display))


def git_unquote(quoted: str) -> str:
    """A path in git's C-style quotes (`"latin1_\\351.py"`, as git prints names with unusual
    bytes) as a display name; other text is returned unchanged."""
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        return quoted
    body = quoted[1:-1]
    simple = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
        else:
            return quoted
    return display_name(bytes(out))
