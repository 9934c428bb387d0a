"""Load the secret-scanning rules (`repopack/data/secret_rules.toml`) into compiled form.

The rules are data; this module only checks and compiles them, and says which file
class a path belongs to (the one thing about a path the rules depend on).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

RULES_RESOURCE = "data/secret_rules.toml"


class FileClass(StrEnum):
    """Where a bare (unquoted) value after `password =` is a literal, not an expression."""

    CODE = "code"
    CONFIG = "config"


# Source languages: a bare value after `=` is an expression (a name, a call), never a secret.
_CODE_SUFFIXES = frozenset(
    """py pyi pyw ipynb js jsx mjs cjs ts tsx mts cts go rs java kt kts scala groovy gradle c h cc cpp cxx hpp hh
    cs fs vb swift m mm rb php pl pm lua r jl dart ex exs erl hrl clj cljs elm hs ml mli nim zig v sol vue svelte
    html htm xml xsl jsp erb haml slim twig j2 jinja jinja2 tpl tmpl mustache hbs css scss sass less sql
    json jsonc json5""".split()
)


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    group: str
    keywords: tuple[str, ...]  # lowercased unless case_sensitive
    pattern: re.Pattern[str]
    anchor: str | None = None  # a prefilter regex in place of keywords
    kind: str = "line"
    generic: bool = False
    min_entropy: float = 0.0
    min_length: int = 0
    config_only: bool = False
    validate: str | None = None
    case_sensitive: bool = False  # keywords match exactly, not case-insensitively

    def secret_span(self, match: re.Match[str]) -> tuple[int, int]:
        names = self.pattern.groupindex
        if "secret" in names:
            return match.span("secret")
        if self.pattern.groups:
            return match.span(1)
        return match.span()


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]

    @property
    def by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    def applies(self, rule: Rule, file_class: FileClass) -> bool:
        return not rule.config_only or file_class is FileClass.CONFIG


_VALIDATORS = {"private-key-base64"}
_KINDS = {"line", "pem", "assignment"}


def parse_rules(text: str) -> RuleSet:
    """Rules from TOML text; a malformed rule raises ValueError naming it."""
    data = tomllib.loads(text)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("secret rules: missing version")
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in data.get("rule", []):
        rule_id = raw.get("id", "?")
        try:
            if rule_id in seen:
                raise ValueError("duplicate id")
            seen.add(rule_id)
            case_sensitive = bool(raw.get("keywords_case", False))
            anchor = raw.get("anchor")
            keywords = tuple(k if case_sensitive else k.lower() for k in raw.get("keywords", ()))
            if anchor is not None:
                if keywords or not isinstance(anchor, str) or not anchor:
                    raise ValueError("needs either keywords or an anchor")
                re.compile(anchor)
            elif not keywords or not all(isinstance(k, str) and k for k in keywords):
                raise ValueError("needs non-empty keywords")
            flags = re.IGNORECASE if raw.get("ignorecase", False) else 0
            kind = raw.get("kind", "line")
            validate = raw.get("validate")
            if kind not in _KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            if validate is not None and validate not in _VALIDATORS:
                raise ValueError(f"unknown validator {validate!r}")
            files = raw.get("files", "any")
            if files not in ("any", "config"):
                raise ValueError(f"unknown files {files!r}")
            if kind == "assignment" and anchor is None:
                raise ValueError("an assignment rule needs an anchor")
            rules.append(Rule(
                id=rule_id, type=raw["type"], group=raw.get("group", raw["type"]), keywords=keywords, anchor=anchor,
                pattern=re.compile(raw["regex"], flags), kind=kind, generic=bool(raw.get("generic", False)),
                min_entropy=float(raw.get("min_entropy", 0.0)), min_length=int(raw.get("min_length", 0)),
                config_only=files == "config", validate=validate, case_sensitive=case_sensitive,
            ))
        except (KeyError, TypeError, re.error, ValueError) as exc:
            raise ValueError(f"secret rule {rule_id}: {exc}") from None
    if not rules:
        raise ValueError("secret rules: no rules")
    return RuleSet(version, tuple(rules))


def _rules_text() -> str:
    return resources.files("repopack").joinpath(RULES_RESOURCE).read_text(encoding="utf-8")


@cache
def load_rules() -> RuleSet:
    return parse_rules(_rules_text())


@cache
def groups() -> dict[str, str]:
    """Each secret type's group, without compiling the rules (for reports of a reused pack)."""
    found: dict[str, str] = {}
    for raw in tomllib.loads(_rules_text()).get("rule", []):
        if isinstance(raw, dict) and isinstance(raw.get("type"), str):
            found.setdefault(raw["type"], str(raw.get("group", raw["type"])))
    return found


def group_of(secret_type: str) -> str:
    return groups().get(secret_type, secret_type)


@cache
def rules_version() -> str:
    """The rules' version without compiling them (for cache keys on the fast path)."""
    match = re.search(r'^version = "([^"]+)"', _rules_text(), re.MULTILINE)
    return match.group(1) if match else load_rules().version


def file_class(path: str) -> FileClass:
    name = path.rsplit("/", 1)[-1].lower()
    suffix = name.rsplit(".", 1)[-1] if "." in name.lstrip(".") else ""
    return FileClass.CODE if suffix in _CODE_SUFFIXES else FileClass.CONFIG
