"""Measured effective context per model, and the `--budget auto` that uses it.

`repopack eval needle` measures how far into a packed prompt a model still finds a
planted fact.  The result is stored per model name in ``<data dir>/effective-context.json``
(``REPOPACK_DATA_DIR`` overrides the directory).  `--budget auto` then packs up to the
measured size instead of the advertised window; with no measurement it falls back to
the advertised window minus the output reserve.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from repopack.errors import ConfigError
from repopack.model.registry import lookup_model
from repopack.util.fmt import format_tokens
from repopack.util.fs import atomic_write
from repopack.util.paths import data_dir

STORE_NAME = "effective-context.json"
STORE_VERSION = 1
AUTO = "auto"
DEFAULT_THRESHOLD = 0.9  # accuracy a size needs at every depth to count as effective


@dataclass(frozen=True)
class Measurement:
    """One model's measured effective context.

    ``effective_tokens`` is None when the model missed needles even at the smallest size
    tested; ``smallest_size`` then says where the measurement stops.
    """

    model: str
    effective_tokens: int | None
    smallest_size: int
    largest_size: int
    threshold: float
    measured_at: str  # ISO 8601, UTC
    base_url: str | None = None
    report: str | None = None  # the JSON report the measurement came from

    @property
    def label(self) -> str:
        """'32k', or '<8k' when even the smallest size failed."""
        if self.effective_tokens is None:
            return f"<{format_tokens(self.smallest_size)}"
        return format_tokens(self.effective_tokens)

    @property
    def usable_budget(self) -> int:
        """Tokens of whole prompt `--budget auto` may use: the measured size, or the smallest size tested."""
        return self.effective_tokens if self.effective_tokens is not None else self.smallest_size


def model_key(name: str) -> str:
    return name.strip().lower()


def store_path() -> Path:
    return data_dir() / STORE_NAME


def _read_store(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": STORE_VERSION, "models": {}}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read stored measurements ({exc}); delete the file and measure again "
                          "with `repopack eval needle`") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        return {"version": STORE_VERSION, "models": {}}
    return data


def load_measurements() -> dict[str, Measurement]:
    """Every stored measurement, keyed by lower-cased model name."""
    out: dict[str, Measurement] = {}
    for key, entry in _read_store(store_path())["models"].items():
        try:
            out[key] = Measurement(**entry)
        except TypeError:
            continue  # written by another version: ignore rather than fail every command
    return out


def measured_context(model: str) -> Measurement | None:
    return load_measurements().get(model_key(model))


def store_measurement(measurement: Measurement) -> Path:
    """Replace the model's measurement atomically; returns the store's path."""
    path = store_path()
    data = _read_store(path)
    data["version"] = STORE_VERSION
    data["models"][model_key(measurement.model)] = asdict(measurement)
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def default_model_name() -> str:
    """The model a command without --model talks to: user config / REPOPACK_MODEL, else the client default."""
    from repopack.config import DEFAULT_MODEL, load_settings

    try:
        configured = load_settings(None).model
    except ConfigError:
        configured = None
    return configured or DEFAULT_MODEL


@dataclass(frozen=True)
class AutoBudget:
    tokens: int
    source: str  # "measured" | "advertised"
    reason: str  # one line for the user


def auto_budget(model: str | None = None, *, window: int | None = None, reserve_output: int = 8192) -> AutoBudget:
    """What `--budget auto` packs for ``model``: its measured effective context when one is stored,
    else its advertised window minus the output reserve (never more than the window allows)."""
    name = model or default_model_name()
    info = lookup_model(name, window)
    advertised = max(1, info.window - min(reserve_output, info.max_output))
    found = measured_context(name)
    if found is not None:
        tokens = min(found.usable_budget, advertised)
        if found.effective_tokens is None:
            why = (f"{name} missed needles even at {format_tokens(found.smallest_size)} tokens; packing that much "
                   f"(measure smaller sizes with `repopack eval needle --sizes`)")
        else:
            why = f"measured effective context of {name}: {found.label} (advertised {format_tokens(info.window)})"
        return AutoBudget(tokens, "measured", why)
    why = (f"no measurement for {name}; using its advertised window {format_tokens(info.window)} "
           "minus the output reserve")
    return AutoBudget(advertised, "advertised", why)


def measured_label(model: str) -> str:
    """The models table's MEASURED cell: '32k', '<8k', or '-' when never measured."""
    found = measured_context(model)
    return found.label if found is not None else "-"


def measured_only_models(known: list[str]) -> list[str]:
    """Names of measured models that the given list (the registry) does not hold, sorted."""
    names = {model_key(n) for n in known}
    return sorted(m.model for key, m in load_measurements().items() if key not in names)


def measurement_json(model: str) -> dict[str, Any] | None:
    found = measured_context(model)
    return None if found is None else asdict(found)
