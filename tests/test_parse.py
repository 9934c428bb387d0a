from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.packing.parse import FileSymbols, Symbol, parse_file, supported_languages

POLYGLOT = Path(__file__).parent.parent / "fixtures" / "polyglot"

# file -> (language, {(name, kind, parent)}, imports in file order)
EXPECTED: dict[str, tuple[str, set[tuple[str, str, str | None]], tuple[str, ...]]] = {
    "sample.py": (
        "python",
        {
            ("DEFAULT_TIMEOUT", "constant", None),
            ("USER_AGENT", "constant", None),
            ("logger", "variable", None),
            ("fetch", "function", None),
            ("Page", "class", None),
            ("is_local", "method", "Page"),
            ("from_url", "method", "Page"),
            ("crawl", "function", None),
        },
        ("os.path", "urllib.request", "dataclasses", ".cache", ".utils"),
    ),
    "sample.js": (
        "javascript",
        {
            ("fs", "variable", None),
            ("MAX_LISTENERS", "constant", None),
            ("createBus", "function", None),
            ("EventBus", "class", None),
            ("publish", "method", "EventBus"),
            ("formatTopic", "function", None),
            ("readConfig", "function", None),
        },
        ("events", "./path.js", "fs"),
    ),
    "sample.ts": (
        "typescript",
        {
            ("API_ROOT", "constant", None),
            ("UserStore", "interface", None),
            ("get", "method", "UserStore"),
            ("save", "method", "UserStore"),
            ("UserId", "type", None),
            ("Role", "type", None),
            ("HttpUserStore", "class", None),
            ("get", "method", "HttpUserStore"),
            ("save", "method", "HttpUserStore"),
            ("fetchUser", "function", None),
        },
        ("@angular/core", "../models/user"),
    ),
    "sample.tsx": (
        "tsx",
        {("CounterProps", "interface", None), ("Counter", "function", None), ("DoubleCounter", "function", None)},
        ("react", "./Button"),
    ),
    "sample.go": (
        "go",
        {
            ("DefaultAddr", "constant", None),
            ("ErrClosed", "variable", None),
            ("Handler", "interface", None),
            ("ServeRoute", "method", "Handler"),
            ("Server", "class", None),
            ("New", "function", None),
            ("Serve", "method", "Server"),
        },
        ("fmt", "net/http", "example.com/app/store"),
    ),
    "sample.rs": (
        "rust",
        {
            ("DEFAULT_RATE", "constant", None),
            ("Bucket", "class", None),
            ("Decision", "class", None),
            ("Limiter", "interface", None),
            ("check", "method", "Limiter"),
            ("Buckets", "type", None),
            ("TokenLimiter", "class", None),
            ("new", "method", "TokenLimiter"),
            ("check", "method", "TokenLimiter"),
            ("limit", "macro", None),
            ("refill", "function", None),
        },
        ("std::collections::HashMap", "std::time::Duration", "std::time::Instant", "crate::config::Settings"),
    ),
    "Sample.java": (
        "java",
        {
            ("Inventory", "class", None),
            ("MAX_ITEMS", "constant", "Inventory"),
            ("count", "method", "Inventory"),
            ("audit", "method", "Inventory"),
            ("Item", "class", "Inventory"),
            ("Status", "class", "Inventory"),
            ("Auditable", "interface", None),
            ("audit", "method", "Auditable"),
        },
        ("java.util.ArrayList", "java.util.List", "java.util.Objects.requireNonNull"),
    ),
    "sample.c": (
        "c",
        {
            ("RING_CAPACITY", "macro", None),
            ("RING_NEXT", "macro", None),
            ("ring", "class", None),
            ("ring_t", "type", None),
            ("ring_status", "type", None),
            ("ring_full", "function", None),
            ("ring_new", "function", None),
            ("ring_push", "function", None),
            ("main", "function", None),
        },
        ("stdio.h", "stdlib.h", "ring/buffer.h"),
    ),
    "sample.cpp": (
        "cpp",
        {
            ("geometry", "module", None),
            ("Polygon", "type", None),
            ("Shape", "class", None),
            ("area", "method", "Shape"),
            ("name", "method", "Shape"),
            ("Circle", "class", None),
            ("area", "method", "Circle"),
            ("perimeter", "function", None),
        },
        ("string", "vector", "geometry/point.hpp"),
    ),
    "sample.cs": (
        "csharp",
        {
            ("Shop.Services", "module", None),
            ("IOrderService", "interface", None),
            ("Place", "method", "IOrderService"),
            ("OrderState", "class", None),
            ("OrderService", "class", None),
            ("MaxLines", "constant", "OrderService"),
            ("Place", "method", "OrderService"),
            ("Money", "class", None),
        },
        ("System", "System.Collections.Generic", "Shop.Models"),
    ),
    "sample.rb": (
        "ruby",
        {
            ("Billing", "module", None),
            ("TAX_RATE", "constant", "Billing"),
            ("Invoice", "class", "Billing"),
            ("initialize", "method", "Invoice"),
            ("total", "method", "Invoice"),
            ("load", "method", "Invoice"),
            ("send_invoice", "method", "Billing"),
        },
        ("json", "./support/http"),
    ),
    "sample.php": (
        "php",
        {
            ("App\\Http\\Controllers", "module", None),
            ("PER_PAGE", "constant", None),
            ("Publishable", "interface", None),
            ("publish", "method", "Publishable"),
            ("PostController", "class", None),
            ("index", "method", "PostController"),
            ("publish", "method", "PostController"),
            ("format_title", "function", None),
        },
        ("App\\Models\\Post", "Illuminate\\Http\\Request", "/helpers.php", "config.php"),
    ),
    "sample.lua": (
        "lua",
        {
            ("Inventory", "variable", None),
            ("MAX_SLOTS", "constant", None),
            ("new", "function", "Inventory"),
            ("add", "method", "Inventory"),
            ("serialize", "function", None),
            ("save", "function", "Inventory"),
        },
        ("dkjson", "inventory.util"),
    ),
    "sample.sh": (
        "bash",
        {
            ("DEPLOY_ROOT", "constant", None),
            ("retries", "variable", None),
            ("log", "function", None),
            ("sync_files", "function", None),
            ("main", "function", None),
        },
        ("./lib/common.sh", "$HOME/.deployrc"),
    ),
}

# Names each sample uses (a call, a type, an attribute) that another file could define.
USED: dict[str, set[str]] = {
    "sample.py": {"retry", "urlopen", "Page", "exists", "store", "DEFAULT_TIMEOUT"},
    "sample.js": {"EventEmitter", "EventBus", "setMaxListeners", "readFileSync", "join"},
    "sample.ts": {"Injectable", "User", "UserId", "fetchUser", "API_ROOT"},
    "sample.tsx": {"useState", "Button", "Counter", "CounterProps", "setCount"},
    "sample.go": {"store", "Store", "NewServeMux", "ListenAndServe", "Handler", "ServeRoute"},
    "sample.rs": {"HashMap", "Instant", "Settings", "DEFAULT_RATE", "Bucket", "values_mut"},
    "Sample.java": {"ArrayList", "Item", "requireNonNull", "Auditable", "sku"},
    "sample.c": {"calloc", "ring_t", "RING_NEXT", "printf", "head"},
    "sample.cpp": {"Point", "distance", "Shape", "radius", "vector"},
    "sample.cs": {"IClock", "Order", "Cart", "Lines", "Now"},
    "sample.rb": {"Base", "JSON", "Http", "post", "TAX_RATE", "sum"},
    "sample.php": {"Post", "Controller", "paginate", "format_title", "PER_PAGE"},
    "sample.lua": {"setmetatable", "insert", "serialize", "encode", "MAX_SLOTS"},
    "sample.sh": {"rsync", "log", "sync_files", "DEPLOY_ROOT", "HOME"},
}


def parse_sample(name: str) -> FileSymbols:
    return parse_file(name, (POLYGLOT / name).read_text("utf-8"))


def test_every_supported_language_has_a_sample() -> None:
    assert {language for language, _, _ in EXPECTED.values()} == set(supported_languages())
    assert {p.name for p in POLYGLOT.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_definitions(name: str) -> None:
    language, defs, _ = EXPECTED[name]
    result = parse_sample(name)
    assert result.path == name
    assert result.language == language
    assert not result.has_errors
    assert {(d.name, d.kind, d.parent) for d in result.defs} == defs


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_imports(name: str) -> None:
    assert parse_sample(name).imports == EXPECTED[name][2]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_refs(name: str) -> None:
    refs = dict(parse_sample(name).refs)
    assert USED[name] <= set(refs)
    assert list(refs) == sorted(refs)
    assert all(count > 0 for count in refs.values())


def test_python_symbols_in_detail() -> None:
    result = parse_sample("sample.py")
    by_name = {d.name: d for d in result.defs}
    assert by_name["fetch"] == Symbol(
        "fetch", "function", 16, 19, "def fetch(url: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:"
    )
    # Multi-line signature collapsed to one line; decorators stay out of the signature.
    assert by_name["from_url"] == Symbol(
        "from_url",
        "method",
        33,
        41,
        "def from_url(cls, url: str, timeout: float = DEFAULT_TIMEOUT,) -> Page:",
        "Page",
    )
    assert by_name["Page"].signature == "class Page:"
    assert (by_name["Page"].line, by_name["Page"].end_line) == (23, 41)
    assert by_name["USER_AGENT"].signature == 'USER_AGENT: str = "repopack-crawler/1.0"'
    # `parse` is local to from_url, so it is not a definition of the file.
    assert "parse" not in by_name


def test_refs_count_uses_not_definitions_or_keywords() -> None:
    refs = dict(parse_sample("sample.py").refs)
    assert refs["Page"] == 3  # return annotations and the call; the `class Page` name is a definition
    assert "fetch" in refs and "crawl" not in refs
    assert not {"self", "cls", "def", "return", "import"} & set(refs)


def test_go_and_rust_signatures() -> None:
    go = {d.name: d for d in parse_sample("sample.go").defs}
    assert go["Serve"].signature == "func (s *Server) Serve(h Handler) error"
    assert go["Server"].signature == "type Server struct"
    assert go["DefaultAddr"].signature == 'const DefaultAddr = ":8080"'
    rust = {(d.name, d.parent): d for d in parse_sample("sample.rs").defs}
    assert rust["new", "TokenLimiter"].signature == "pub fn new(settings: &Settings) -> Self"
    assert (rust["new", "TokenLimiter"].line, rust["new", "TokenLimiter"].end_line) == (33, 35)


def test_broken_syntax_keeps_partial_definitions() -> None:
    text = (
        "import os\n\n"
        "def ok_before(a):\n    return a\n\n"
        "def broken(:\n    return ((\n\n"
        "class StillFound:\n    def method(self):\n        return os.sep\n"
    )
    result = parse_file("broken.py", text)
    assert result.has_errors
    names = {d.name for d in result.defs}
    assert {"ok_before", "StillFound"} <= names
    assert result.imports == ("os",)


def test_broken_go_and_js_keep_partial_definitions() -> None:
    go = parse_file("x.go", "package x\n\nfunc Good() int { return 1 }\n\nfunc Bad( {\n")
    assert go.has_errors and "Good" in {d.name for d in go.defs}
    js = parse_file("x.js", "function good() { return 1 }\nclass Bad { method( { }\n")
    assert js.has_errors and "good" in {d.name for d in js.defs}


def test_unknown_language_gets_regex_refs() -> None:
    result = parse_file("notes/schema.sql", "SELECT user_id, name FROM users WHERE user_id = 1 -- users")
    assert result == FileSymbols(
        "notes/schema.sql",
        "sql",
        (),
        (("FROM", 1), ("SELECT", 1), ("WHERE", 1), ("name", 1), ("user_id", 2), ("users", 2)),
        (),
        False,
    )
    assert parse_file("README", "hello world").language is None


def test_explicit_language_overrides_the_path() -> None:
    result = parse_file("bin/deploy", "deploy() {\n  echo hi\n}\n", language="bash")
    assert [(d.name, d.kind) for d in result.defs] == [("deploy", "function")]


def test_huge_minified_line_returns() -> None:
    line = "var a=" + ",".join(f"function f{i}(x){{return x*{i}}}" for i in range(200_000)) + ";"
    assert len(line) > 5_000_000
    result = parse_file("dist/bundle.min.js", line)
    assert result.defs == ()
    assert ("f199999", 1) in result.refs


def test_empty_and_whitespace_files() -> None:
    for language in supported_languages():
        assert parse_file("x", "", language=language) == FileSymbols("x", language, (), (), (), False)
        assert parse_file("x", "\n\n  \n", language=language).defs == ()


@settings(max_examples=150, deadline=None)
@given(
    language=st.sampled_from(["python", "javascript", "tsx", "go", "rust", "c", "ruby", "php", "lua", "bash"]),
    text=st.text(),
)
def test_parse_never_raises_on_arbitrary_text(language: str, text: str) -> None:
    result = parse_file("any", text, language=language)
    assert result.language == language
    assert all(1 <= d.line <= d.end_line for d in result.defs)


@settings(max_examples=100, deadline=None)
@given(
    language=st.sampled_from(["python", "javascript", "cpp", "java", "csharp"]),
    text=st.lists(
        st.sampled_from(["def ", "class ", "function ", "{", "}", "(", ")", ":", "\n", "    ", "x", "Foo", ";", '"']),
        max_size=60,
    ).map("".join),
)
def test_parse_never_raises_on_code_like_fragments(language: str, text: str) -> None:
    result = parse_file("any", text, language=language)
    assert all(1 <= d.line <= d.end_line <= text.count("\n") + 1 for d in result.defs)
