"""Display names: any byte string maps to a visible name and back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repopack.util.names import display_name, fs_name, git_unquote, raw_name


def test_plain_names_are_shown_as_they_are() -> None:
    for name in ("src/app.py", "docs/café.md", "a b/[x].txt", "win\\style.txt", "日本語.rs"):
        assert display_name(name.encode()) == name
        assert raw_name(name) == name.encode()


def test_undecodable_and_control_bytes_are_escaped_visibly() -> None:
    assert display_name(b"latin1_\xe9.py") == "latin1_\\xe9.py"
    assert display_name(b"new\nline.py") == "new\\x0aline.py"
    assert display_name("evil\u202egnp.py".encode()) == "evil\\xe2\\x80\\xaegnp.py"  # a bidi override
    assert display_name(b"back\\slash_\xff") == "back\\\\slash_\\xff"
    # A valid name that reads like an escape is escaped too, so no two names share a display.
    assert display_name(b"x\\x41") == "x\\\\x41" and display_name(b"xA") == "xA"
    assert fs_name("latin1_\\xe9.py") == "latin1_\udce9.py"


def test_git_quoted_names_become_display_names() -> None:
    assert git_unquote('"a/latin1_\\351.py"') == "a/latin1_\\xe9.py"
    assert git_unquote('"a/caf\\303\\251.py"') == "a/café.py"
    assert git_unquote('"tab\\there"') == "tab\\x09here"
    assert git_unquote("plain") == "plain"


@given(st.binary(max_size=40))
def test_every_byte_string_round_trips(raw: bytes) -> None:
    shown = display_name(raw)
    assert raw_name(shown) == raw
    shown.encode("utf-8")  # always encodable: no surrogates reach a prompt, a manifest or sqlite


@given(st.binary(max_size=20), st.binary(max_size=20))
def test_distinct_names_have_distinct_displays(a: bytes, b: bytes) -> None:
    assert (display_name(a) == display_name(b)) == (a == b)
