"""The model registry: context windows and prices, read from ``data/models.json``.

The numbers are data, not code, so updating a price is a one-line JSON change.
An unknown model is not an error: it gets a conservative default window and is
flagged ``known=False`` so callers can say the budget is a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from repopack.errors import ConfigError
from repopack.packing.images import ImageRule, rule_from

# Hosts add release dates or tags to the names in the registry: gpt-4.1-2025-04-14.
_VERSION_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4}|\d{8}|latest|preview(?:-[\w.-]+)?)$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    window: int
    max_output: int
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    provider: str = ""
    base_url: str | None = None
    known: bool = True
    note: str = ""
    images: ImageRule | None = None  # how it counts image tokens; None: it is never sent images

    @property
    def priced(self) -> bool:
        return self.input_per_mtok is not None and self.output_per_mtok is not None


@cache
def _registry() -> dict[str, Any]:
    text = resources.files("repopack").joinpath("data/models.json").read_text(encoding="utf-8")
    return json.loads(text)


def _from_entry(name: str, entry: dict[str, Any]) -> ModelInfo:
    return ModelInfo(
        name=name,
        window=int(entry["window"]),
        max_output=int(entry["max_output"]),
        input_per_mtok=entry.get("input_per_mtok"),
        output_per_mtok=entry.get("output_per_mtok"),
        provider=entry.get("provider", ""),
        base_url=entry.get("base_url"),
        note=entry.get("note", ""),
        images=_image_rule(entry.get("images")),
    )


def _image_rule(spec: dict[str, Any] | None) -> ImageRule | None:
    if not spec:
        return None
    overrides = {k: v for k, v in spec.items() if k != "rule"}
    return rule_from(_registry()["image_rules"], spec["rule"], overrides)


def image_estimate_rule() -> ImageRule:
    """The rule used to estimate image tokens for a model the registry does not know."""
    return rule_from(_registry()["image_rules"], _registry()["default"]["image_estimate"])


def _find(name: str) -> tuple[str, dict[str, Any]] | None:
    """(registry key, entry) for a name, alias, "host/name" or dated name."""
    models: dict[str, dict[str, Any]] = _registry()["models"]
    wanted = name.strip().lower()
    candidates = [wanted]
    if "/" in wanted:  # "openai/gpt-4.1", "models/gemini-2.5-pro"
        candidates.append(wanted.rsplit("/", 1)[1])
    candidates += [_VERSION_SUFFIX.sub("", c) for c in candidates]
    for candidate in candidates:
        for key, entry in models.items():
            if candidate == key.lower() or candidate in (a.lower() for a in entry.get("aliases", ())):
                return key, entry
    return None


def lookup_model(name: str, window_override: int | None = None) -> ModelInfo:
    """Registry entry for ``name`` (case-insensitive; aliases and dated names work).

    ``window_override`` (from config or a flag) replaces the window, e.g. for a local
    server started with a smaller context or a host that caps Llama 4 Scout.
    """
    if window_override is not None and window_override <= 0:
        raise ConfigError(f"model window must be a positive number of tokens, got {window_override}")
    found = _find(name)
    if found is None:
        default = _registry()["default"]
        info = ModelInfo(
            name=name,
            window=int(default["window"]),
            max_output=int(default["max_output"]),
            known=False,
            note="not in the registry: window is a conservative default; set it explicitly",
        )
    else:
        info = _from_entry(name, found[1])
    if window_override is not None:
        info = replace(info, window=window_override)
    return info


def list_models() -> list[ModelInfo]:
    """Every registry entry, in file order."""
    return [_from_entry(key, entry) for key, entry in _registry()["models"].items()]


def estimate_cost(info: ModelInfo, input_tokens: int, output_tokens: int) -> float | None:
    """USD at list price, or None when the model has no known price."""
    if info.input_per_mtok is None or info.output_per_mtok is None:
        return None
    return (input_tokens * info.input_per_mtok + output_tokens * info.output_per_mtok) / 1_000_000


def default_budget(info: ModelInfo, reserved_output: int, question_tokens: int) -> int:
    """Tokens left for packed context: window - reserved output - question (never < 0)."""
    return max(0, info.window - max(0, reserved_output) - max(0, question_tokens))
