"""Redaction records: where secrets were, what kind, and (hidden) how to put them back.

Kept apart from the scanner in `repopack.packing.scan` so that code which only reads or
restores redactions (cached packs, apply) does not import detect-secrets.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

MARKER_RE = re.compile(r"\[REDACTED:([^\]\n]{1,60})\]")


@dataclass(frozen=True)
class SecretFinding:
    """Where a secret was and what kind it was; never its value."""

    path: str
    line: int
    type: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.type}"


@dataclass(frozen=True)
class Redaction:
    """Redacted text, its findings, and (hidden) the values needed to restore it.

    ``secret_values`` maps a secret type to the original values of that type in the
    order their markers appear in ``text``.
    """

    text: str
    findings: tuple[SecretFinding, ...] = ()
    secret_values: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    @property
    def redacted(self) -> bool:
        return bool(self.findings)


def marker(secret_type: str) -> str:
    return f"[REDACTED:{secret_type}]"


def restore_secrets(new_text: str, redaction: Redaction) -> str:
    """Put original values back where ``new_text`` still carries markers.

    The n-th marker of a type gets the n-th original value of that type; markers
    beyond the known values (or of unknown types) are left as they are.
    """
    if not redaction.secret_values:
        return new_text
    seen: dict[str, int] = defaultdict(int)

    def _replace(match: re.Match[str]) -> str:
        secret_type = match.group(1)
        values = redaction.secret_values.get(secret_type, ())
        n = seen[secret_type]
        seen[secret_type] += 1
        return values[n] if n < len(values) else match.group(0)

    return MARKER_RE.sub(_replace, new_text)
