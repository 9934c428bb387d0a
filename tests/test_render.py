"""render: attribute quoting matches the standard library's escaping, always in double quotes."""

from __future__ import annotations

from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from repopack.packing.render import quoteattr


@given(st.text())
def test_quoteattr_escapes_like_saxutils_in_double_quotes(value: str) -> None:
    expected = escape(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    assert quoteattr(value) == f'"{expected}"'
