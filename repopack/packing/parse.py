"""Parse one source file into its definitions, references and imports.

tree-sitter does the work in C: the grammar wheels' own ``queries/tags.scm`` find
most definitions, ``repopack/queries/<lang>.scm`` adds what upstream lacks (imports,
constants, type aliases, ...), and one small capture query per language collects
every identifier-like node for the reference counts.  Python only post-processes
the handful of definition matches.

Rules that hold for every language:

* A definition nested inside a function body is local and dropped.
* ``parent`` is the nearest enclosing class-like container (class, struct, impl,
  trait, interface, module in Ruby), or the qualifier written in the name
  (``Foo::bar``, ``function M.new``, a Go receiver).  A function with a container
  is a ``method``.  Constructors (a method named like its parent) are dropped.
* Module-level ``variable`` definitions whose name is UPPER_CASE are ``constant``.
* Oversized files, grammars that fail to load and parses that run out of time
  fall back to a regex identifier scan: no defs, no imports, refs only.

``parse_file`` never raises.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from repopack.packing.languages import language_for_path
from repopack.packing.symbols import FileSymbols, Symbol

__all__ = ["FileSymbols", "Symbol", "parse_file", "parse_many"]


# language id -> (module, function returning the grammar)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "lua": ("tree_sitter_lua", "language"),
    "bash": ("tree_sitter_bash", "language"),
}

# Upstream tags.scm files per language; TypeScript's only adds to JavaScript's.
_UPSTREAM_TAGS: dict[str, tuple[str, ...]] = {
    "typescript": ("tree_sitter_javascript", "tree_sitter_typescript"),
    "tsx": ("tree_sitter_javascript", "tree_sitter_typescript"),
    "bash": (),
}
# Languages whose module-level "variable"s become "constant"s by their UPPER_CASE names.
_CASE_CONSTANTS = frozenset({"python", "javascript", "typescript", "tsx", "lua", "bash"})
# Where "variable" may become "constant" by its UPPER_CASE name.
_UPPER_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*\Z")
# Higher wins when two patterns capture the same node and name; ties go to our own queries.
_KIND_RANK = {"method": 3, "function": 2, "constant": 0, "variable": -1}
_KNOWN_KINDS = frozenset(
    {
        "function",
        "method",
        "class",
        "interface",
        "type",
        "constant",
        "variable",
        "module",
        "macro",
    }
)
# C/C++ declarators are captured; the definition is the enclosing declaration.
_DECLARATORS = frozenset(
    {
        "function_declarator",
        "pointer_declarator",
        "reference_declarator",
        "parenthesized_declarator",
    }
)
_SPECIFIERS = frozenset({"struct_specifier", "union_specifier", "enum_specifier", "class_specifier"})
_QUALIFIED = frozenset(
    {
        "dot_index_expression",
        "method_index_expression",
        "qualified_identifier",
        "member_expression",
    }
)

MAX_PARSE_BYTES = 2_000_000  # larger files get the regex scan
PARSE_TIMEOUT_S = 2.0  # per file; parsing and querying are only cancelled above _TIMED_PARSE_BYTES
_TIMED_PARSE_BYTES = 200_000
_SIGNATURE_CHARS = 200

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def supported_languages() -> tuple[str, ...]:
    """Language ids with a tree-sitter grammar; others get the regex scan."""
    return tuple(sorted(GRAMMARS))


def parse_file(path: str, text: str, language: str | None = None) -> FileSymbols:
    """Definitions, references and imports of one file; never raises.

    ``language`` defaults to the one ``languages.language_for_path`` gives ``path``.
    """
    lang = language if language is not None else language_for_path(path)
    source = text.encode("utf-8", "replace")
    if lang in GRAMMARS and len(source) <= MAX_PARSE_BYTES:
        try:
            return _parse_tree(path, lang, source)
        except Exception:  # a grammar, query or timeout failure must not stop a repo scan
            pass
    return FileSymbols(path, lang, (), _scan_refs(source, lang), (), False)


# --- grammars and queries ---------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    """One language's own query file: its patterns and its header settings."""

    query: str
    refs: tuple[str, ...]
    scopes: frozenset[str]
    containers: dict[str, str]  # node type -> field holding the container's name
    keywords: frozenset[str]


@cache
def _rules(lang: str) -> _Rules:
    text = (importlib.resources.files("repopack") / "queries" / f"{lang}.scm").read_text("utf-8")
    header: dict[str, list[str]] = {}
    for key, values in re.findall(r"^; (inherits|refs|scopes|containers|keywords): (.*)$", text, re.M):
        header.setdefault(key, []).extend(values.split())
    rules = _Rules(
        query=text,
        refs=tuple(header.get("refs", ())),
        scopes=frozenset(header.get("scopes", ())),
        containers=dict(item.split(":", 1) for item in header.get("containers", ())),
        keywords=frozenset(header.get("keywords", ())),
    )
    for base in map(_rules, header.get("inherits", ())):
        rules = _Rules(
            query=base.query + "\n" + rules.query,
            refs=base.refs + rules.refs,
            scopes=base.scopes | rules.scopes,
            containers=base.containers | rules.containers,
            keywords=base.keywords | rules.keywords,
        )
    return rules


@cache
def _keywords(lang: str | None) -> frozenset[str]:
    """Names never counted as references; every language's for unknown files."""
    if lang in GRAMMARS:
        return _rules(lang).keywords
    return frozenset().union(*(_rules(known).keywords for known in GRAMMARS))


@dataclass(frozen=True)
class _Spec:
    language: Language
    rules: _Rules
    tags: Query  # upstream tags.scm patterns, then ours
    own_from: int  # index of the first pattern from repopack/queries
    refs: Query


@cache
def _spec(lang: str) -> _Spec:
    module_name, function_name = GRAMMARS[lang]
    language = Language(getattr(importlib.import_module(module_name), function_name)())
    rules = _rules(lang)
    upstream = "\n".join(_upstream_tags(m) for m in _UPSTREAM_TAGS.get(lang, (module_name,)))
    tags = Query(language, upstream + "\n" + rules.query)
    own_from = Query(language, upstream).pattern_count if upstream.strip() else 0
    source = (upstream + "\n" + rules.query).encode()
    for index in range(own_from):
        # Upstream reference patterns only cost time: we count references ourselves.
        if b"@definition." not in source[tags.start_byte_for_pattern(index) : tags.end_byte_for_pattern(index)]:
            tags.disable_pattern(index)
    for capture in ("doc", "local.scope", "ignore"):
        tags.disable_capture(capture)
    refs = Query(language, "[" + " ".join(f"({t})" for t in rules.refs) + "] @ref")
    return _Spec(language, rules, tags, own_from, refs)


def _upstream_tags(module_name: str) -> str:
    try:
        return (importlib.resources.files(module_name) / "queries" / "tags.scm").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    # tree-sitter-c-sharp ships its queries beside the package, not inside it.
    try:
        files = importlib.metadata.files(module_name.replace("_", "-")) or ()
    except importlib.metadata.PackageNotFoundError:
        return ""
    for file in files:
        if file.name == "tags.scm":
            return file.read_text("utf-8")
    return ""


_local = threading.local()


def _parser(lang: str) -> Parser:
    """One parser per thread and language: parsers are not thread-safe."""
    parsers: dict[str, Parser] = _local.__dict__.setdefault("parsers", {})
    if lang not in parsers:
        parsers[lang] = Parser(_spec(lang).language)
    return parsers[lang]


# --- the tree-sitter path ---------------------------------------------------


def _parse_tree(path: str, lang: str, source: bytes) -> FileSymbols:
    spec = _spec(lang)
    parser = _parser(lang)
    deadline = time.monotonic() + PARSE_TIMEOUT_S

    def out_of_time(*_args: object) -> bool:
        return time.monotonic() > deadline

    # The progress callback costs time, so only big files pay for it.  (QueryCursor's own
    # progress_callback crashes py-tree-sitter 0.26; queries are linear, so none is used.)
    if len(source) > _TIMED_PARSE_BYTES:
        # Raises ValueError when cancelled; parse_file then falls back to the regex scan.
        tree = parser.parse(lambda offset, _point: source[offset : offset + 65536], progress_callback=out_of_time)
    else:
        tree = parser.parse(source)
    root = tree.root_node

    found: dict[tuple[int, str], tuple[int, int, str, Node, Node]] = {}
    imports: list[tuple[int, str]] = []
    for pattern, captures in QueryCursor(spec.tags).matches(root):
        own = pattern >= spec.own_from
        for name, nodes in captures.items():
            if name.startswith("import"):
                imports.extend((n.start_byte, t) for n in nodes for t in _import_targets(lang, name, n, source))
            elif name.startswith("definition.") and "name" in captures:
                kind = name.removeprefix("definition.")
                if kind not in _KNOWN_KINDS:
                    continue
                name_node = captures["name"][0]
                key = (nodes[0].start_byte, _text(name_node, source))
                rank = (_KIND_RANK.get(kind, 1), int(own))
                if key not in found or rank > found[key][:2]:
                    found[key] = (*rank, kind, nodes[0], name_node)

    ref_types = set(spec.rules.refs)
    refs = QueryCursor(spec.refs).captures(root).get("ref", ())
    # Slicing the source ourselves: Node.text is slow when the tree was parsed from a callback.
    counts = Counter(source[n.start_byte : n.end_byte] for n in refs)
    defs = []
    partial = False
    for index, ((_, name), (_, _, kind, node, name_node)) in enumerate(found.items()):
        # Node.parent walks down from the root, so thousands of definitions under one very
        # wide node (generated tables, minified bundles) cost quadratic time: stop at the deadline.
        if index % 64 == 63 and out_of_time():
            partial = True
            break
        symbol = _symbol(lang, name, kind, node, name_node, source)
        if symbol is not None:
            defs.append(symbol)
            if name_node.type in ref_types:
                counts[source[name_node.start_byte : name_node.end_byte]] -= 1
    defs.sort(key=lambda s: (s.line, s.end_line, s.name))

    ordered = dict.fromkeys(target for _, target in sorted(imports))
    return FileSymbols(path, lang, tuple(defs), _ref_tuple(counts, lang), tuple(ordered), root.has_error or partial)


def _symbol(lang: str, name: str, kind: str, node: Node, name_node: Node, source: bytes) -> Symbol | None:
    node = _definition_node(node)
    if node.type in _SPECIFIERS and node.child_by_field_name("body") is None:
        return None  # `struct foo *p` uses a type, it does not define it
    parent = _qualifier(name_node, source)
    scopes = _rules(lang).scopes
    containers = _rules(lang).containers
    container = None
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in scopes:
            return None
        if ancestor.type in containers and ancestor.child_by_field_name(containers[ancestor.type]):
            container = _bare_type_name(_text(ancestor.child_by_field_name(containers[ancestor.type]), source))
            break
        ancestor = ancestor.parent
    if node.type == "method_declaration" and lang == "go":
        parent = _go_receiver(node, source)
    parent = parent or container
    if kind in ("function", "method"):
        if container is not None or (lang == "go" and node.type == "method_declaration"):
            kind = "method"
        elif kind == "method" and lang in ("rust", "ruby"):
            kind = "function"  # in a `mod` block or at the top level
        if kind == "method" and name == parent:
            return None  # constructors repeat the class name
    elif kind in ("constant", "variable") and lang in _CASE_CONSTANTS:
        kind = "constant" if _UPPER_CONSTANT.match(name) else "variable"
    line = node.start_point.row + 1
    end_line = max(line, node.end_point.row + (1 if node.end_point.column else 0))
    return Symbol(name, kind, line, end_line, _signature(node, source), parent)


def _definition_node(node: Node) -> Node:
    """The node whose span and text make the definition's lines and signature."""
    parent = node.parent
    while node.type in _DECLARATORS and parent is not None:  # C: the declaration, not its declarator
        node, parent = parent, parent.parent
    # `const f = () => ...` keeps its `const`; Go's `type T struct` its `type`, unless grouped.
    if parent is not None and parent.named_child_count == 1:
        if node.type in ("variable_declarator", "type_spec", "const_spec", "var_spec"):
            node, parent = parent, parent.parent
    if parent is not None and parent.type == "export_statement":
        node = parent
    return node


def _qualifier(name_node: Node, source: bytes) -> str | None:
    """`Foo` in `Foo::bar`, `function Foo.bar`, `Foo.prototype.bar = ...`."""
    parent = name_node.parent
    if parent is None or parent.type not in _QUALIFIED:
        return None
    scope = parent.child_by_field_name("table") or parent.child_by_field_name("scope")
    scope = scope or parent.child_by_field_name("object")
    if scope is None or scope.end_byte > name_node.start_byte:
        return None
    return _bare_type_name(_text(scope, source).removesuffix(".prototype"))


def _go_receiver(node: Node, source: bytes) -> str | None:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    for parameter in receiver.named_children:
        kind = parameter.child_by_field_name("type")
        if kind is not None:
            return _bare_type_name(_text(kind, source))
    return None


def _bare_type_name(text: str) -> str:
    """`Foo` from `*Foo`, `Foo<T>`, `Foo[T]`, `a::b::Foo`."""
    text = re.split(r"[<\[(]", text.lstrip("*&( "), maxsplit=1)[0]
    return re.split(r"::|\\", text)[-1].strip()


def _signature(node: Node, source: bytes) -> str:
    body = _body(node)
    end = body.start_byte if body is not None else node.end_byte
    text = source[node.start_byte : end].decode("utf-8", "replace")
    if body is None:
        text = text.split("\n", 1)[0]
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
    text = text.removesuffix("{").rstrip()
    if len(text) > _SIGNATURE_CHARS:
        text = text[: _SIGNATURE_CHARS - 1] + "…"
    return text


def _body(node: Node) -> Node | None:
    """The part of a definition that the signature stops before."""
    body = node.child_by_field_name("body")
    if body is not None:
        return body
    candidates = [node]
    if node.type in ("export_statement", "lexical_declaration", "variable_declaration"):
        declaration = node.child_by_field_name("declaration") or node
        candidates = [c for c in declaration.named_children if c.type == "variable_declarator"]
    for candidate in candidates:
        value = candidate.child_by_field_name("value") or candidate.child_by_field_name("right")
        if value is not None and value.child_by_field_name("body") is not None:
            return value.child_by_field_name("body")
    exported = node.child_by_field_name("declaration") if node.type == "export_statement" else None
    return _body(exported) if exported is not None else None


def _text(node: Node | None, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace") if node is not None else ""


# --- imports ----------------------------------------------------------------


def _import_targets(lang: str, capture: str, node: Node, source: bytes) -> list[str]:
    text = re.sub(r"\s+", " ", _text(node, source)).strip()
    if capture == "import.statement":  # Java `import static a.b.*;`, C# `using X = A.B;`
        text = re.sub(r"^(global\s+)?(import|using)\s+(static\s+)?", "", text).rstrip(";").strip()
        text = re.sub(r"^\w+\s*=\s*", "", text)
    elif capture == "import.from_relative":  # Python `from .. import views`
        if text.strip("."):
            return [text]
        statement = node.parent
        names = statement.children_by_field_name("name") if statement is not None else []
        return [text + _text(n.child_by_field_name("name") or n, source) for n in names] or [text]
    elif capture == "import.require_relative":  # Ruby paths relative to the file
        return [text if text.startswith(".") else "./" + text]
    elif lang == "rust":
        return _expand_rust_use(text)
    text = text.strip("\"'`")
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    return [text] if text else []


def _expand_rust_use(text: str) -> list[str]:
    """`std::{io::{self, Write}, fmt}` -> `std::io`, `std::io::Write`, `std::fmt`."""
    text = re.sub(r"\s+as\s+\w+", "", text).replace(" ", "")
    start = text.find("{")
    if start < 0:
        return [text]
    prefix, inner = text[:start], text[start + 1 : text.rfind("}")]
    parts, depth, current = [], 0, ""
    for char in inner + ",":
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "{") - (char == "}")
        current += char
    targets = []
    for part in filter(None, parts):
        targets.extend([prefix.removesuffix("::")] if part == "self" else _expand_rust_use(prefix + part))
    return targets


# --- references -------------------------------------------------------------


def _ref_tuple(counts: Counter[bytes], lang: str | None) -> tuple[tuple[str, int], ...]:
    ignored = _keywords(lang)
    merged: Counter[str] = Counter()
    for raw, count in counts.items():
        name = raw.decode("utf-8", "replace")
        # Identifier-like only: bash's `$1` and `.` are names to the grammar, not to us.
        if count > 0 and (name[:1].isalpha() or name[:1] == "_") and name not in ignored:
            merged[name] += count
    return tuple(sorted(merged.items()))


def _scan_refs(source: bytes, lang: str | None) -> tuple[tuple[str, int], ...]:
    return _ref_tuple(Counter(_WORD.findall(source)), lang)


def parse_many(items: list[tuple[str, str, str | None]]) -> list[FileSymbols]:
    """parse_file over (path, text, language) triples: the unit of work of a helper process."""
    return [parse_file(path, text, language) for path, text, language in items]
