from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.packing.parse import parse_file
from repopack.packing.skeleton import number_lines, skeleton_text

POLYGLOT = Path(__file__).parent.parent / "fixtures" / "polyglot"
NUMBERED = re.compile(r" *(\d+)│(?: (.*))?\Z")

EXPECTED_PYTHON = "\n".join(
    [
        ' 1│ """HTTP helpers used by the crawler."""',
        " 2│",
        " 3│ from __future__ import annotations",
        " 4│",
        " 5│ import os.path",
        " 6│ import urllib.request as request",
        " 7│ from dataclasses import dataclass, field",
        " 8│ from . import cache",
        " 9│ from .utils import retry",
        "10│",
        "11│ DEFAULT_TIMEOUT = 5.0",
        '12│ USER_AGENT: str = "repopack-crawler/1.0"',
        "13│ logger = None",
        "14│",
        "15│",
        "16│ def fetch(url: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:",
        '17│     """Download one URL and return its body."""',
        "  ⋮ 4 lines",
        "22│ @dataclass(frozen=True)",
        "23│ class Page:",
        '24│     """A fetched page."""',
        "  ⋮ 4 lines",
        "29│     def is_local(self) -> bool:",
        "  ⋮ 2 lines",
        "32│     @classmethod",
        "33│     def from_url(",
        "34│         cls,",
        "35│         url: str,",
        "36│         timeout: float = DEFAULT_TIMEOUT,",
        "37│     ) -> Page:",
        "  ⋮ 6 lines",
        "44│ @retry(times=3)",
        "45│ def crawl(start: str) -> list[Page]:",
        "  ⋮ 3 lines",
    ]
)

EXPECTED_GO = "\n".join(
    [
        " 1│ // Package server runs the HTTP front end.",
        " 2│ package server",
        " 3│",
        " 4│ import (",
        ' 5│ \t"fmt"',
        ' 6│ \t"net/http"',
        " 7│",
        ' 8│ \t"example.com/app/store"',
        " 9│ )",
        "10│",
        '11│ const DefaultAddr = ":8080"',
        "12│",
        '13│ var ErrClosed = fmt.Errorf("server closed")',
        "14│",
        "15│ // Handler serves one route.",
        "16│ type Handler interface {",
        "17│ \tServeRoute(w http.ResponseWriter, r *http.Request) error",
        "18│ }",
        "19│",
        "20│ // Server wraps an http.Server with a store.",
        "21│ type Server struct {",
        "22│ \tAddr  string",
        "23│ \tstore *store.Store",
        "24│ }",
        "25│",
        "26│ // New builds a server on addr.",
        "27│ func New(addr string, s *store.Store) *Server {",
        "  ⋮ 3 lines",
        "31│ // Serve blocks until the listener fails.",
        "32│ func (s *Server) Serve(h Handler) error {",
        "  ⋮ 8 lines",
    ]
)


def skeleton_of(name: str) -> tuple[str, str]:
    text = (POLYGLOT / name).read_text("utf-8")
    return text, skeleton_text(text, parse_file(name, text))


def assert_lines_match_original(skeleton: str, text: str) -> None:
    original = text.split("\n")
    for line in skeleton.split("\n") if skeleton else ():
        match = NUMBERED.match(line)
        if match is None:
            assert re.fullmatch(r" *⋮ \d+ lines?", line), line
            continue
        number, content = int(match.group(1)), match.group(2) or ""
        assert content == original[number - 1].rstrip(), (number, line)


def test_python_skeleton_exact() -> None:
    text, skeleton = skeleton_of("sample.py")
    assert skeleton == EXPECTED_PYTHON
    assert_lines_match_original(skeleton, text)


def test_go_skeleton_exact() -> None:
    text, skeleton = skeleton_of("sample.go")
    assert skeleton == EXPECTED_GO
    assert_lines_match_original(skeleton, text)


@pytest.mark.parametrize("name", sorted(p.name for p in POLYGLOT.iterdir()))
def test_every_sample_skeleton_is_shorter_and_cites_real_lines(name: str) -> None:
    text, skeleton = skeleton_of(name)
    assert len(skeleton) < 0.9 * len(number_lines(text))
    assert_lines_match_original(skeleton, text)
    signatures = {d.line for d in parse_file(name, text).defs}
    kept = {int(m.group(1)) for m in map(NUMBERED.match, skeleton.split("\n")) if m}
    assert signatures <= kept


def test_rust_skeleton_keeps_impl_headers_and_small_structs() -> None:
    _, skeleton = skeleton_of("sample.rs")
    assert "32│ impl TokenLimiter {" in skeleton
    assert "38│ impl Limiter for TokenLimiter {" in skeleton
    assert "28│     buckets: Buckets," in skeleton
    assert "34│" not in skeleton  # the body of TokenLimiter::new


def test_long_docstring_is_trimmed() -> None:
    text = 'def f():\n    """One.\n\n    Two.\n    Three.\n    Four.\n    """\n    return 1\n'
    skeleton = skeleton_text(text, parse_file("f.py", text))
    assert skeleton == '1│ def f():\n2│     """One.\n3│\n4│     Two.\n ⋮ 4 lines'


def test_number_lines() -> None:
    assert number_lines("a\nb\n") == "1│ a\n2│ b"
    assert number_lines("x\r\n\r\ny") == "1│ x\n2│\n3│ y"
    assert number_lines("") == ""
    assert number_lines("\n".join("abcdefghij")).split("\n")[0] == " 1│ a"


def test_form_feed_does_not_shift_line_numbers() -> None:
    text = "import os\n\x0c\ndef f():\n    return os.sep\n"
    skeleton = skeleton_text(text, parse_file("f.py", text))
    assert "3│ def f():" in skeleton


@settings(max_examples=150, deadline=None)
@given(
    language=st.sampled_from(["python", "go", "javascript", "rust"]),
    text=st.lists(
        st.sampled_from(
            ["def f(x):", "    return x", '    """doc"""', "class A:", "func F() {", "}", "import os", "", "# c"]
        ),
        max_size=40,
    ).map("\n".join),
)
def test_skeleton_never_longer_than_numbered_file(language: str, text: str) -> None:
    skeleton = skeleton_text(text, parse_file("x", text, language=language))
    assert len(skeleton) <= len(number_lines(text))
    assert_lines_match_original(skeleton, text)
