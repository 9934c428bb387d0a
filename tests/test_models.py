"""The model registry data file and the helpers over it."""

from __future__ import annotations

import pytest

from repopack.errors import ConfigError
from repopack.model.registry import ModelInfo, default_budget, estimate_cost, list_models, lookup_model


def test_registry_lists_the_long_context_models() -> None:
    windows = {m.name: m.window for m in list_models()}
    assert windows == {
        "gpt-4.1": 1_047_576, "gpt-4.1-mini": 1_047_576, "gpt-4.1-nano": 1_047_576, "gpt-4o": 128_000,
        "gemini-2.5-pro": 1_048_576, "gemini-2.5-flash": 1_048_576,
        "llama-4-scout": 10_000_000, "llama-4-maverick": 1_000_000, "local": 32_768,
    }
    assert all(m.known and m.max_output > 0 and m.priced for m in list_models())


@pytest.mark.parametrize("name, key", [
    ("gpt-4.1", "gpt-4.1"),
    ("GPT-4.1-mini", "gpt-4.1-mini"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("openai/gpt-4.1-nano", "gpt-4.1-nano"),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"),
    ("models/gemini-2.5-pro", "gemini-2.5-pro"),
])
def test_lookup_by_alias_and_dated_names(name: str, key: str) -> None:
    info = lookup_model(name)
    expected = next(m for m in list_models() if m.name == key)
    assert info.name == name
    assert (info.window, info.input_per_mtok, info.known) == (expected.window, expected.input_per_mtok, True)


def test_unknown_model_gets_conservative_default() -> None:
    info = lookup_model("my-finetune")
    assert (info.window, info.max_output, info.known) == (128_000, 4096, False)
    assert estimate_cost(info, 1000, 1000) is None


def test_window_override() -> None:
    assert lookup_model("local", window_override=8192).window == 8192
    assert lookup_model("llama-4-scout", window_override=131_072).window == 131_072
    with pytest.raises(ConfigError):
        lookup_model("local", window_override=0)


def test_cost_and_budget() -> None:
    info = lookup_model("gpt-4.1")
    assert estimate_cost(info, 1_000_000, 500_000) == pytest.approx(2.0 + 4.0)
    assert default_budget(info, reserved_output=8192, question_tokens=100) == 1_047_576 - 8192 - 100
    tiny = ModelInfo(name="t", window=1000, max_output=100)
    assert default_budget(tiny, 900, 200) == 0
